"""eventually() (opframe.testing.eventually). No sockets."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from opframe.kube import errors
from opframe.testing import eventually

# -- eventually ------------------------------------------------------------------------------------


def scripted(*answers: object) -> Callable[[], object]:
    """A check that gives ``answers`` in turn, raising those that are exceptions."""
    given = iter(answers)

    def check() -> object:
        answer = next(given)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return check


def test_eventually_returns_the_first_truthy_result_and_treats_not_found_as_not_yet() -> None:
    check = scripted(errors.NotFound(404, "not yet"), None, 0, {"ready": True})
    assert eventually(check, what="readiness", interval=0) == {"ready": True}


def test_eventually_treats_the_kubernetes_clients_404_as_not_yet_and_other_statuses_as_errors() -> None:
    """The README hands tests the ``kubernetes`` client too: its ApiException(404) means "not yet"."""
    from kubernetes.client.exceptions import ApiException

    check = scripted(ApiException(status=404, reason="Not Found"), {"found": True})
    assert eventually(check, what="the copy", interval=0) == {"found": True}

    def forbidden() -> object:
        raise ApiException(status=403, reason="Forbidden")

    with pytest.raises(ApiException):
        eventually(forbidden, what="the copy", timeout=1, interval=0)


def test_eventually_times_out_naming_what_it_waited_for_at_the_time_of_failure() -> None:
    calls: list[int] = []
    with pytest.raises(AssertionError) as failure:
        eventually(lambda: calls.append(1), what=lambda: f"the copy (seen {len(calls)} times)",
                   timeout=0.02, interval=0.005)
    assert str(failure.value) == f"timed out after 0 s waiting for the copy (seen {len(calls)} times)"
    assert len(calls) >= 2


def test_eventually_raises_the_given_error_type_and_lets_other_errors_through() -> None:
    class StepFailed(AssertionError):
        pass

    with pytest.raises(StepFailed):
        eventually(lambda: False, what="never", timeout=0, error=StepFailed)
    def forbidden() -> bool:
        raise errors.Forbidden(403, "no")

    with pytest.raises(errors.Forbidden):
        eventually(forbidden, what="anything", timeout=1)
