"""Running a list of units: in this process, on a local Dask cluster, or on an existing one.

Units are submitted as independent Dask tasks (``pure=False``, ``retries=``). A unit that
raises is retried up to ``retries`` times; a unit whose worker dies is rescheduled by the Dask
scheduler on another worker (up to ``distributed.scheduler.allowed-failures`` times). Either
way the unit function is idempotent (see :func:`simgrad.sweeps.units.execute_unit`), so a
second attempt can never damage a finished result.

The default cluster is a :class:`distributed.LocalCluster` of worker *processes* with one
thread each, as many as there are CPU cores (or units, if fewer); each worker limits torch to
one thread (``torch_threads``), so processes do not oversubscribe the cores.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .progress import Progress
from .units import Unit, execute_unit

__all__ = ["Outcome", "default_workers", "run_units"]


@dataclass
class Outcome:
    """What happened to the units of one sweep call."""

    status: dict[str, str] = field(default_factory=dict)  # uid -> done|skipped|failed
    errors: dict[str, str] = field(default_factory=dict)  # uid -> message
    seconds: dict[str, float] = field(default_factory=dict)
    workers: int = 0
    address: str | None = None


def default_workers(n_units: int) -> int:
    """Worker processes for a local cluster: one per core, no more than there are units."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(n_units, cores or 1))


class _Tracker:
    def __init__(self, total: int, skipped: int, callback: Callable[[Progress], Any] | None):
        self.total, self.skipped, self.callback = total, skipped, callback
        self.computed = self.failed = self.running = 0
        self.slots = 1
        self.t0 = time.monotonic()
        self._sum, self._n = 0.0, 0  # running mean of unit durations: O(1) per unit

    def add(self, seconds: float | None) -> None:
        if seconds and seconds > 0:
            self._sum += seconds
            self._n += 1

    def emit(self, last: str | None = None, status: str | None = None) -> None:
        if self.callback is None:
            return
        self.callback(
            Progress(
                total=self.total,
                finished=self.skipped + self.computed,
                skipped=self.skipped,
                running=self.running,
                failed=self.failed,
                elapsed=time.monotonic() - self.t0,
                computed=self.computed,
                last=last,
                last_status=status,
                unit_seconds=self._sum / self._n if self._n else None,
                slots=self.slots,
            )
        )


def run_units(
    units: Sequence[Unit],
    out: Path,
    run_unit: Callable[[Unit, Path], Any],
    *,
    total: int,
    skipped: int,
    workers: int | None,
    scheduler: Any,
    retries: int,
    torch_threads: int,
    progress: Callable[[Progress], Any] | None,
    poll: float = 0.2,
) -> Outcome:
    """Execute ``units`` (those not finished yet) and report progress against ``total``."""
    tracker = _Tracker(total, skipped, progress)
    outcome = Outcome()
    tracker.emit()
    if not units:
        return outcome
    if workers == 0 and scheduler is None:
        _run_here(units, out, run_unit, tracker, outcome, retries)
        return outcome

    from distributed import as_completed

    client, close = _open_client(scheduler, workers, len(units))
    futures: dict[Any, Unit] = {}
    try:
        outcome.address = client.scheduler.address
        token = uuid.uuid4().hex[:8]
        for u in units:
            fut = client.submit(
                execute_unit,
                u,
                str(out),
                run_unit,
                torch_threads=torch_threads,
                key=f"simgrad-unit-{u.uid}-{token}",
                pure=False,
                retries=retries,
            )
            futures[fut] = u
        keys = {f.key for f in futures}
        ready = as_completed(futures)  # finished futures in O(1) each, never a scan of all
        left = len(futures)
        last_poll = 0.0
        while left:
            changed = []
            for fut in ready.next_batch(block=False) if ready.has_ready() else []:
                u = futures[fut]
                status = _collect(fut, u, outcome)
                tracker.add(outcome.seconds.get(u.uid))
                tracker.computed += status != "failed"
                tracker.failed += status == "failed"
                changed.append((u.uid, status))
                left -= 1
            now = time.monotonic()
            if changed or now - last_poll > 1.0:
                last_poll = now
                tracker.slots = max(1, sum(client.nthreads().values()))
                tracker.running = min(_running(client, keys), left)
                for uid, status in changed:
                    tracker.emit(uid, status)
                if not changed:
                    tracker.emit()
            if not changed:
                time.sleep(poll)
        outcome.workers = len(client.nthreads())
        tracker.running = 0
        tracker.emit()
    except BaseException:
        try:
            client.cancel(list(futures))
        except Exception:  # pragma: no cover - the client may already be gone
            pass
        raise
    finally:
        close()
    return outcome


def _collect(fut: Any, u: Unit, outcome: Outcome) -> str:
    if fut.status == "finished":
        res = fut.result()
        outcome.status[u.uid] = res["status"]
        outcome.seconds[u.uid] = res["seconds"]
        return res["status"]
    exc = fut.exception() if fut.status == "error" else None
    outcome.status[u.uid] = "failed"
    outcome.errors[u.uid] = f"{type(exc).__name__}: {exc}" if exc else fut.status
    return "failed"


def _running(client: Any, keys: set) -> int:
    """Our tasks that workers are processing, capped by the number of worker threads."""
    try:
        processing = client.processing()
        nthreads = sum(client.nthreads().values())
    except Exception:  # pragma: no cover - transient scheduler hiccup
        return 0
    return min(sum(1 for ks in processing.values() for k in ks if k in keys), nthreads)


def _run_here(units, out, run_unit, tracker, outcome, retries) -> None:
    tracker.slots = 1
    for u in units:
        tracker.running = 1
        tracker.emit()
        status = "failed"
        for attempt in range(retries + 1):
            try:
                res = execute_unit(u, out, run_unit)
            except Exception as exc:  # noqa: BLE001 - recorded, and retried
                outcome.errors[u.uid] = f"{type(exc).__name__}: {exc}"
                if attempt == retries:
                    break
                continue
            outcome.errors.pop(u.uid, None)
            status = res["status"]
            outcome.seconds[u.uid] = res["seconds"]
            tracker.add(res["seconds"])
            break
        outcome.status[u.uid] = status
        tracker.running = 0
        tracker.computed += status != "failed"
        tracker.failed += status == "failed"
        tracker.emit(u.uid, status)


@contextlib.contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Ignore SIGINT while the local workers are spawned: they inherit the ignored signal,
    so a Ctrl-C reaches only this process, which cancels the units and closes the cluster
    (one line and exit status 130, not every worker's traceback)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _open_client(scheduler: Any, workers: int | None, n_units: int):
    """``(client, close)``: ``close()`` shuts down only what the sweep itself opened."""
    from distributed import Client

    if scheduler is None:
        from distributed import LocalCluster

        try:
            with _workers_ignore_ctrl_c():
                cluster = LocalCluster(
                    n_workers=workers or default_workers(n_units),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,  # a Ctrl-C is one line, not each worker's warnings
                    # no dashboard; the scheduler's small HTTP server (health checks) still starts:
                    # on a free port of this machine only, never the default 8787
                    scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                    env={
                        "OMP_NUM_THREADS": "1",
                        "MKL_NUM_THREADS": "1",
                        "OPENBLAS_NUM_THREADS": "1",
                    },
                )
        except Exception as exc:
            raise RuntimeError(
                f"could not start a local Dask cluster ({type(exc).__name__}: {exc}). Worker "
                "processes re-import the main script: in a script, call sg.sweep under "
                "`if __name__ == '__main__':`. Or run without Dask: workers=0."
            ) from exc
        client = Client(cluster)

        def close() -> None:
            client.close()
            cluster.close()

        return client, close
    if isinstance(scheduler, Client):
        return scheduler, lambda: None
    if isinstance(scheduler, (str, os.PathLike)):
        is_file = Path(scheduler).suffix == ".json" and Path(scheduler).is_file()
        try:
            if is_file:  # a scheduler file, as written by `dask scheduler --scheduler-file`
                client = Client(scheduler_file=str(scheduler), timeout="30s")
            else:
                client = Client(str(scheduler), timeout="30s")
        except OSError as exc:
            raise ValueError(f"scheduler: cannot connect to {scheduler!r} ({exc}).") from None
        return client, client.close
    if hasattr(scheduler, "scheduler_address"):  # a cluster object (LocalCluster, SLURMCluster)
        client = Client(scheduler)
        return client, client.close
    raise TypeError(
        "scheduler must be an address string, a distributed.Client or a Dask cluster, got "
        f"{type(scheduler).__name__}."
    )
