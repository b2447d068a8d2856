"""The shared CA's rotation decision (authority.next_step), as a table, and what a replica serves from it."""

from __future__ import annotations

import datetime

import pytest

from opframe.kube.pki import new_ca
from opframe.runtime.admission.authority import Authority, AuthorityState, Step, next_step

NOW = datetime.datetime(2026, 12, 5, 12, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)
OVERLAP = datetime.timedelta(minutes=10)
YOUNG = dict(ca_not_before=NOW - 10 * DAY, ca_not_after=NOW + 355 * DAY)
OLD = dict(ca_not_before=NOW - 250 * DAY, ca_not_after=NOW + 115 * DAY)  # less than a third left


@pytest.mark.parametrize(("state", "expected"), [
    (AuthorityState(exists=False), Step.CREATE),
    (AuthorityState(exists=True, **YOUNG), None),
    (AuthorityState(exists=True, **YOUNG, rotation_asked=True), Step.INTRODUCE),
    (AuthorityState(exists=True, **OLD), Step.INTRODUCE),
    # a step waits for the overlap after the previous one
    (AuthorityState(exists=True, **YOUNG, introducing=True, step_at=NOW - OVERLAP / 2), None),
    (AuthorityState(exists=True, **YOUNG, introducing=True, step_at=NOW - OVERLAP), Step.PROMOTE),
    (AuthorityState(exists=True, **YOUNG, retiring=True, step_at=NOW - OVERLAP / 2), None),
    (AuthorityState(exists=True, **YOUNG, retiring=True, step_at=NOW - 2 * OVERLAP), Step.RETIRE),
    # one rotation at a time: an ask (or age) waits until the one in progress has ended
    (AuthorityState(exists=True, **OLD, retiring=True, step_at=NOW, rotation_asked=True), None),
    (AuthorityState(exists=True, **OLD, introducing=True, step_at=NOW, rotation_asked=True), None),
    # no record of the last step (annotation removed by hand): the step is taken
    (AuthorityState(exists=True, **YOUNG, introducing=True), Step.PROMOTE),
])
def test_the_step_due(state: AuthorityState, expected: Step | None) -> None:
    assert next_step(state, NOW, overlap=OVERLAP) is expected


def test_the_bundle_holds_every_ca_in_use() -> None:
    a, b = new_ca("a")[0].cert_pem, new_ca("b")[0].cert_pem
    assert Authority(ca_cert=a, ca_key=b"k").bundle == a
    assert Authority(ca_cert=a, ca_key=b"k", next_cert=b).bundle == a + b
    assert Authority(ca_cert=a, ca_key=b"k", previous_cert=b).bundle == a + b
