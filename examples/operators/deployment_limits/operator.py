"""Deployment limits: CEL policies, which the API server enforces itself (a ValidatingAdmissionPolicy and
its binding per handler), so they hold while the operator is down, is upgraded, or has crashed.

* ``replicas``: a Deployment runs at most 10 replicas;
* ``team_label``: a Deployment labelled ``policy: strict`` names its team in a ``team`` label.

The functions are never called: the rules are in ``cel=``. Run it once (or keep it running for its other
handlers) and the policies stay::

    opframe run examples/operators/deployment_limits/operator.py -n default
"""

from opframe import on


@on.validate("deployments", id="replicas", cel="object.spec.replicas <= 10", message="at most 10 replicas")
def replicas() -> None:
    """A Deployment runs at most 10 replicas."""


@on.validate("deployments", labels={"policy": "strict"}, cel=[
    {"expression": "'team' in object.metadata.labels",
     "messageExpression": "'deployment ' + object.metadata.name + ' needs a team label'"}])
def team_label() -> None:
    """A strict Deployment names its team."""
