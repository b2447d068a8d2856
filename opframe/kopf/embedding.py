"""Embedding an operator in an application: kopf's ``operator()``, ``run()``, ``spawn_tasks()``,
``run_tasks()``.

opframe's machinery runs in threads (informers, workers, event loops for async handlers);
these coroutines start an ``Operator`` in worker threads and await it, so that an
application's event loop stays free. Flags may be ``threading.Event``, ``asyncio.Event``
or a future (kopf's ``aioadapters.Flag``):

* ``ready_flag`` is raised once the caches synced and handling started;
* ``stop_flag`` being raised (or the task being cancelled) stops the operator gracefully.

Namespaces are kopf's: ``clusterwide=True`` serves every namespace, ``namespaces=[...]`` the
given globs; neither serves every namespace with a warning, as kopf 1.45 does.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import warnings
from collections.abc import Callable, Collection, Coroutine
from typing import Any

from opframe.handlers.memos import Memo
from opframe.handlers.registry import Registry
from opframe.kopf import lifecycles
from opframe.kopf.settings import OperatorSettings
from opframe.kopf.storage import KopfBookkeeping
from opframe.runtime.operator.operator import Operator
from opframe.settings import Settings

logger = logging.getLogger("opframe.embedding")

#: How often a stop flag that cannot be awaited (a threading.Event) is checked.
FLAG_POLL = 0.1


def is_raised(flag: Any) -> bool:
    if flag is None:
        return False
    if isinstance(flag, asyncio.Future | concurrent.futures.Future):
        return flag.done()
    return bool(flag.is_set())


def raise_flag(flag: Any) -> None:
    """Raise a flag from any thread."""
    if flag is None:
        return
    if isinstance(flag, asyncio.Future):
        def resolve() -> None:
            if not flag.done():
                flag.set_result(None)
        flag.get_loop().call_soon_threadsafe(resolve)
    elif isinstance(flag, concurrent.futures.Future):
        if not flag.done():
            flag.set_result(None)
    elif isinstance(flag, asyncio.Event):
        loop = getattr(flag, "_loop", None)
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(flag.set)
        else:
            flag.set()
    else:
        flag.set()


def settings_for(*, clusterwide: bool, namespaces: Collection[str], namespace: str | None,
                 standalone: bool | None, peering_name: str | None, priority: int | None,
                 liveness_endpoint: str | None, base: Settings | None = None) -> Settings:
    """opframe's settings from kopf's run arguments (peering becomes Lease election)."""
    patterns = [*namespaces, *([namespace] if namespace else [])]
    updates: dict[str, Any] = {}
    if clusterwide or not patterns:
        if not clusterwide and not (base and (base.namespaces or base.all_namespaces)):
            warnings.warn("no namespaces given: serving every namespace (kopf's default); pass clusterwide=True "
                          "or namespaces=[...]", FutureWarning, stacklevel=3)
        if not (base and base.namespaces):
            updates["all_namespaces"] = True
    else:
        updates["namespaces"] = patterns
    if peering_name and not standalone:
        updates.update(leader_election=True, lease_name=peering_name)
    if priority:
        logger.warning("peering priority %d has no effect: opframe elects one leader through a Lease "
                       "(no priorities); all replicas with the same lease name take turns", priority)
    if liveness_endpoint:
        updates["liveness_endpoint"] = liveness_endpoint
    settings = base or Settings()
    return settings.model_copy(update=updates) if updates else settings


async def spawn_tasks(*, lifecycle: Callable[..., Any] | None = None, indexers: Any = None,
                      registry: Registry | None = None, settings: OperatorSettings | None = None,
                      memories: Any = None, insights: Any = None, identity: Any = None,
                      standalone: bool | None = None, priority: int | None = None, peering_name: str | None = None,
                      liveness_endpoint: str | None = None, clusterwide: bool = False,
                      namespaces: Collection[str] = (), namespace: str | None = None, stop_flag: Any = None,
                      ready_flag: Any = None, vault: Any = None, memo: object | None = None,
                      _command: Coroutine[None, None, None] | None = None,
                      _settings: Settings | None = None) -> list[asyncio.Task[None]]:
    """The operator's root task (and the command's, if any), started on the running loop."""
    opframe_settings = settings_for(clusterwide=clusterwide, namespaces=namespaces, namespace=namespace,
                                    standalone=standalone, peering_name=peering_name, priority=priority,
                                    liveness_endpoint=liveness_endpoint, base=_settings)
    memo_ = memo if isinstance(memo, Memo) else Memo(vars(memo)) if memo is not None else None
    view = settings if settings is not None else OperatorSettings()
    operator_ = Operator(opframe_settings, registry, memo=memo_, settings_view=view,
                         lifecycle=lifecycle or lifecycles.get_default_lifecycle(),
                         foreign=KopfBookkeeping.of(opframe_settings))
    tasks = [asyncio.create_task(_run(operator_, stop_flag, ready_flag), name="opframe operator")]
    if _command is not None:
        tasks.append(asyncio.create_task(_command, name="opframe command"))
    return tasks


async def run_tasks(root_tasks: Collection[asyncio.Task[None]], *, ignored: Collection[asyncio.Task[Any]] = ()) -> None:
    """Await the root tasks; the first to fail cancels the others and its error is raised. Cancelled
    itself, it cancels them and waits until they have ended (each stops its operator) before the
    cancellation goes on."""
    try:
        done, pending = await asyncio.wait(root_tasks, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        for task in root_tasks:
            task.cancel()
        await _settled(asyncio.gather(*root_tasks, return_exceptions=True))
        raise
    for task in pending:
        if any(t.exception() is not None for t in done if not t.cancelled()):
            task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


async def operator(*, lifecycle: Callable[..., Any] | None = None, indexers: Any = None,
                   registry: Registry | None = None, settings: OperatorSettings | None = None,
                   memories: Any = None, insights: Any = None, identity: Any = None, standalone: bool | None = None,
                   priority: int | None = None, peering_name: str | None = None,
                   liveness_endpoint: str | None = None, clusterwide: bool = False,
                   namespaces: Collection[str] = (), namespace: str | None = None, stop_flag: Any = None,
                   ready_flag: Any = None, vault: Any = None, memo: object | None = None,
                   _command: Coroutine[None, None, None] | None = None, _settings: Settings | None = None) -> None:
    """Run the operator until ``stop_flag`` is raised or the task is cancelled (kopf's ``operator()``)."""
    tasks = await spawn_tasks(lifecycle=lifecycle, registry=registry, settings=settings, standalone=standalone,
                              priority=priority, peering_name=peering_name, liveness_endpoint=liveness_endpoint,
                              clusterwide=clusterwide, namespaces=namespaces, namespace=namespace,
                              stop_flag=stop_flag, ready_flag=ready_flag, memo=memo, _command=_command,
                              _settings=_settings)
    await run_tasks(tasks)


def run(*, loop: asyncio.AbstractEventLoop | None = None, **options: Any) -> None:
    """Run the operator synchronously (kopf's ``run()``): ``operator(**options)`` on ``loop`` or a new one."""
    coroutine = operator(**options)
    try:
        if loop is not None:
            loop.run_until_complete(coroutine)
        else:
            asyncio.run(coroutine)
    except asyncio.CancelledError:
        pass


async def _run(operator_: Operator, stop_flag: Any, ready_flag: Any) -> None:
    """Start the operator in a worker thread, run it until the stop flag, then stop it.

    Invariant: ``stop()`` never runs beside ``prepare()``/``start()``. A cancellation (or a
    stop flag) while starting first sets ``operator_.stopping`` (which ends startup
    handlers' retries), waits for the start to end, and only then stops the operator.
    """
    starting = asyncio.ensure_future(asyncio.to_thread(_start, operator_))
    try:
        await asyncio.shield(starting)
        raise_flag(ready_flag)
        while not is_raised(stop_flag) and not operator_.lost_leadership.is_set():
            if isinstance(stop_flag, asyncio.Event):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop_flag.wait(), FLAG_POLL * 10)
            else:
                await asyncio.sleep(FLAG_POLL)
    finally:
        operator_.stopping.set()
        await _settled(starting)
        await asyncio.shield(asyncio.to_thread(operator_.stop))


def _start(operator_: Operator) -> None:
    operator_.prepare()
    operator_.start()


async def _settled(future: asyncio.Future[Any]) -> None:
    """Wait until ``future`` is done, whatever it ended with and however often we are cancelled
    meanwhile (the caller is already unwinding and re-raises its own cause)."""
    while not future.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(future)
    if not future.cancelled():
        future.exception()  # retrieved: its error was raised to the caller already, or the caller's wins
