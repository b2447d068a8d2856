"""ConfigMap policy: admission webhooks that the API server calls before it stores a ConfigMap.

* ``no_plain_passwords`` (validating) refuses a ConfigMap labelled ``policy: strict`` that has a
  ``password`` key (put it in a Secret), and warns about keys that look like tokens;
* ``default_owner`` (mutating) labels every new ConfigMap without an ``owner`` label ``owner: unknown``.

Run it with the managed configurations named (the API server must be able to reach the operator:
locally it calls https://localhost:<port>)::

    OPFRAME_WEBHOOK_MANAGED=policy.example.com opframe run examples/operators/configmap_policy/operator.py -n default
"""

from typing import Any

import opframe
from opframe import on

NOT_THE_SYSTEM = {"name": "not-the-system", "expression": "!request.userInfo.username.startsWith('system:')"}


@on.validate("configmaps", labels={"policy": "strict"}, operations=["CREATE", "UPDATE"],
             match_conditions=[NOT_THE_SYSTEM])
def no_plain_passwords(body: Any, warnings: list[str], **_: Any) -> None:
    data = body.get("data") or {}
    if "password" in data:
        raise opframe.AdmissionError("a password does not belong in a ConfigMap: put it in a Secret", code=422)
    warnings.extend(f"key {key!r} looks like a token: consider a Secret" for key in data if "token" in key.lower())


@on.mutate("configmaps", labels={"owner": opframe.ABSENT}, operations=["CREATE"], timeout=5)
def default_owner(patch: Any, **_: Any) -> None:
    patch.metadata.labels["owner"] = "unknown"
