"""Label every pod with its phase: ``pod-phase.opframe.dev/phase: running``.

kopf ignores status changes in update handlers; opframe tracks a status field as
soon as a handler names it (``field="status.phase"``), so this is an ordinary
update handler.

    opframe run examples/operators/pod_phase/operator.py -n default
"""

from __future__ import annotations

from opframe import on

LABEL = "pod-phase.opframe.dev/phase"


@on.create("pods")
@on.update("pods", field="status.phase")
def label_phase(body, patch, logger, **_):
    phase = (body.get("status") or {}).get("phase")
    wanted = phase.lower() if phase else None
    if (body["metadata"].get("labels") or {}).get(LABEL) != wanted:
        patch.metadata.labels[LABEL] = wanted
        logger.info(f"phase {phase}")
