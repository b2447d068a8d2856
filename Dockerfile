# opframe operator image: `docker build -t opframe .`, then run with the operator's file
# mounted (the Helm chart mounts it from a ConfigMap at /operator/operator.py) or baked
# into a derived image.
#
# Build stage: a virtual environment with opframe and its dependencies.
FROM python:3.11.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/opframe
COPY pyproject.toml README.md /src/
COPY opframe /src/opframe
RUN /opt/opframe/bin/pip install /src

# Final stage: the same Python, the virtual environment, no build tools, a non-root user.
FROM python:3.11.11-slim-bookworm
RUN groupadd --gid 10001 opframe && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin opframe
COPY --from=build /opt/opframe /opt/opframe
ENV PATH=/opt/opframe/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /operator
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["opframe", "run"]
CMD ["/operator/operator.py"]
