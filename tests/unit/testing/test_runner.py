"""kopf's KopfRunner (opframe.testing.runner)."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_kopf_runner_reraises_a_failed_run_and_keeps_its_output(tmp_path: Path) -> None:
    """kopf's KopfRunner: leaving the block re-raises a failed run's SystemExit (reraise=True), and the
    run's output is there as text and bytes."""
    from opframe.testing import KopfRunner

    missing = tmp_path / "missing.py"
    command = ["run", "--kubeconfig", str(tmp_path / "kubeconfig"), str(missing)]  # no cluster is reached
    with pytest.raises(SystemExit) as raised, KopfRunner(command, timeout=30) as runner:
        pass
    assert raised.value.code == 1 and runner.exit_code == 1
    assert runner.stderr_bytes.decode() == runner.stderr
    assert f"operator file {missing} does not exist" in runner.stderr
    assert isinstance(runner.stdout_bytes, bytes)
    with KopfRunner(command, timeout=30, reraise=False) as quiet:
        pass
    assert quiet.exit_code == 1 and isinstance(quiet.exception, SystemExit)
