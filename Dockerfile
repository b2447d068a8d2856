# opframe operator image: `docker build -t opframe .`, then run with the operator's file
# mounted (the Helm chart mounts it from a ConfigMap at /operator/operator.py) or baked
# into a derived image.
#
# PYTHON_IMAGE: the base of both stages. Where no registry is reachable, `make image`
# passes a base built locally from Debian packages (mmdebstrap: python3, python3-venv,
# python-is-python3, ca-certificates, passwd), so this one recipe serves both.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# Build stage: a virtual environment with opframe and its dependencies.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/opframe
COPY pyproject.toml README.md /src/
COPY opframe /src/opframe
RUN /opt/opframe/bin/pip install /src

# Final stage: the same Python, the virtual environment, no build tools, a non-root user.
FROM ${PYTHON_IMAGE}
RUN groupadd --gid 10001 opframe && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin opframe
COPY --from=build /opt/opframe /opt/opframe
ENV PATH=/opt/opframe/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /operator
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["opframe", "run"]
CMD ["/operator/operator.py"]
