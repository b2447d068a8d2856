"""OperatorMetrics: counters move on the hooks, live series are computed at scrape time."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from opframe.cache.reflector import ReflectorStats
from opframe.runtime.telemetry.metrics import OperatorMetrics


def sample(metrics: OperatorMetrics, series: str, /, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(series, labels)


def scrape(metrics: OperatorMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the rendered text, as parsed by prometheus_client's own parser."""
    samples = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def test_observe_handler_counts_invocations_errors_and_durations() -> None:
    metrics = OperatorMetrics()
    metrics.observe_handler("kopfexamples", "create_fn", 0.02, failed=False)
    metrics.observe_handler("kopfexamples", "create_fn", 3.0, failed=True)
    metrics.observe_handler("kopfexamples", "delete_fn", 0.5, failed=False)
    labels = {"resource": "kopfexamples", "handler": "create_fn"}
    assert sample(metrics, "opframe_handler_invocations_total", **labels) == 2
    assert sample(metrics, "opframe_handler_errors_total", **labels) == 1
    assert sample(metrics, "opframe_handler_duration_seconds_count", **labels) == 2
    assert sample(metrics, "opframe_handler_duration_seconds_sum", **labels) == 3.02
    assert sample(metrics, "opframe_handler_duration_seconds_bucket", le="0.025", **labels) == 1
    delete = {"resource": "kopfexamples", "handler": "delete_fn"}
    assert sample(metrics, "opframe_handler_invocations_total", **delete) == 1
    assert sample(metrics, "opframe_handler_errors_total", **delete) in (None, 0)


def test_observe_request_counts_by_verb_and_code() -> None:
    metrics = OperatorMetrics()
    metrics.observe_request("GET", 200, 0.004)
    metrics.observe_request("GET", 200, 0.006)
    metrics.observe_request("PATCH", 409, 0.01)
    metrics.observe_request("GET", 0, 5.0)  # no answer
    assert sample(metrics, "opframe_api_requests_total", verb="GET", code="200") == 2
    assert sample(metrics, "opframe_api_requests_total", verb="PATCH", code="409") == 1
    assert sample(metrics, "opframe_api_requests_total", verb="GET", code="0") == 1
    assert sample(metrics, "opframe_api_request_duration_seconds_count", verb="GET") == 3
    assert sample(metrics, "opframe_api_request_duration_seconds_count", verb="PATCH") == 1


def test_queue_recorder_sink_moves_the_workqueue_series() -> None:
    metrics = OperatorMetrics()
    recorder = metrics.queue_recorder("kopfexamples")
    recorder.on_add("a")
    recorder.on_add("b")
    assert sample(metrics, "workqueue_adds_total", name="kopfexamples") == 2
    assert sample(metrics, "workqueue_depth", name="kopfexamples") == 2
    recorder.on_get("a")
    assert sample(metrics, "workqueue_depth", name="kopfexamples") == 1
    assert sample(metrics, "workqueue_queue_duration_seconds_count", name="kopfexamples") == 1
    assert sample(metrics, "workqueue_work_duration_seconds_count", name="kopfexamples") == 0
    recorder.on_done("a")
    assert sample(metrics, "workqueue_work_duration_seconds_count", name="kopfexamples") == 1
    recorder.on_retry()
    assert sample(metrics, "workqueue_retries_total", name="kopfexamples") == 1
    other = metrics.queue_recorder("pods")
    other.on_add("x")
    assert sample(metrics, "workqueue_adds_total", name="pods") == 1
    assert sample(metrics, "workqueue_adds_total", name="kopfexamples") == 2


def test_render_parses_and_has_the_live_series() -> None:
    metrics = OperatorMetrics()
    recorder = metrics.queue_recorder("kopfexamples")
    recorder.on_add("a")
    recorder.on_get("a")  # in progress: unfinished work
    stats = ReflectorStats(lists=1, watches=3, relists=1, rewatches=2, stalls=1, events=42)
    metrics.watch_reflector("kopfexamples", lambda: stats)
    metrics.observe_handler("kopfexamples", "create_fn", 0.1, failed=False)
    metrics.leader.labels("opframe-lock").set(1)

    samples = scrape(metrics)
    name = (("name", "kopfexamples"),)
    resource = (("resource", "kopfexamples"),)
    assert samples[("workqueue_unfinished_work_seconds", name)] >= 0
    assert samples[("workqueue_longest_running_processor_seconds", name)] >= 0
    assert samples[("workqueue_depth", name)] == 0
    assert samples[("workqueue_adds_total", name)] == 1
    assert samples[("opframe_watch_restarts_total", resource)] == 2
    assert samples[("opframe_relists_total", resource)] == 1
    assert samples[("opframe_watch_stalls_total", resource)] == 1
    assert samples[("opframe_watch_events_total", resource)] == 42
    assert samples[("opframe_handler_invocations_total", (("handler", "create_fn"), ("resource", "kopfexamples")))] == 1
    assert samples[("leader_election_master_status", (("name", "opframe-lock"),))] == 1

    # the live series are read at every scrape
    stats.rewatches = 5
    recorder.on_done("a")
    samples = scrape(metrics)
    assert samples[("opframe_watch_restarts_total", resource)] == 5
    assert samples[("workqueue_unfinished_work_seconds", name)] == 0
    assert samples[("workqueue_longest_running_processor_seconds", name)] == 0


def test_render_without_queues_or_reflectors_still_parses() -> None:
    families = {family.name for family in text_string_to_metric_families(OperatorMetrics().render().decode())}
    assert {"workqueue_unfinished_work_seconds", "opframe_watch_restarts", "opframe_handler_invocations"} <= families
