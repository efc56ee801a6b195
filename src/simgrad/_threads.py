"""Thread settings for shared machines: spin briefly, and use only the cores that are free.

Lab machines and cluster nodes are shared. Two things make a CPU-bound torch program
wasteful there, and this module addresses both:

- **Spinning.** OpenMP worker threads busy-wait between parallel regions; when another
  process holds a core, spinning threads burn CPU time without doing work. Not spinning at
  all (``OMP_WAIT_POLICY=PASSIVE``) is no cure for the main job's many small products: on a
  quiet 2-core machine it made ``simgrad run`` 1.7× slower (41 s against 25 s). So
  :func:`set_env_defaults` sets a short spin, ``GOMP_SPINCOUNT=1000`` (GNU OpenMP, which
  torch's Linux wheels use), unless the user set ``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY``.
  OpenMP reads it once, when torch is loaded, so ``import simgrad`` calls it before torch.
- **Too many threads.** ``os.cpu_count()`` counts the machine, not the cores this process may
  use, nor whether other processes are using them. :func:`available_cpus` is the smaller of
  the CPU affinity mask (``os.sched_getaffinity``) and the cgroup CPU quota (``cpu.max`` of
  cgroup v2, or ``cpu.cfs_quota_us / cpu.cfs_period_us`` of v1), rounded up;
  :func:`idle_cpus` how many of the machine's cores were idle over a quarter of a second
  (``/proc/stat``). Two threads on two cores of which one is busy are slower than one thread:
  ``simgrad run`` took 58 s with 2 threads and 31 s with 1 beside one CPU-bound process.

The knob: ``SIMGRAD_THREADS=N`` fixes the number of threads (else ``OMP_NUM_THREADS`` when set,
else the available cores that are idle, at least 1). :func:`configure_torch` applies it
(``torch.set_num_threads``) when a job starts; ``sg.run`` and the ``simgrad`` command call it
(``sg.run`` restores the caller's count afterwards).

>>> thread_count({"SIMGRAD_THREADS": "3"})
3
>>> thread_count({"OMP_NUM_THREADS": "1"})
1
>>> cgroup_cpus("150000 100000")
2
>>> cgroup_cpus("max 100000") is None
True
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, MutableMapping
from pathlib import Path

__all__ = [
    "ENV",
    "available_cpus",
    "cgroup_cpus",
    "configure_torch",
    "idle_cpus",
    "set_env_defaults",
    "thread_count",
]

#: the environment variable that fixes simgrad's number of threads
ENV = "SIMGRAD_THREADS"

_CGROUP_V2 = Path("/sys/fs/cgroup/cpu.max")
_PROC_STAT = Path("/proc/stat")
_CGROUP_V1 = (
    Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
    Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us"),
)


def cgroup_cpus(cpu_max: str | None) -> int | None:
    """The CPUs a cgroup v2 ``cpu.max`` line (``"quota period"`` or ``"max period"``) allows,
    rounded up; ``None`` when unlimited or unreadable."""
    if not cpu_max:
        return None
    parts = cpu_max.split()
    try:
        if parts[0] == "max":
            return None
        quota, period = float(parts[0]), float(parts[1]) if len(parts) > 1 else 100000.0
    except (ValueError, IndexError):
        return None
    if quota <= 0 or period <= 0:
        return None
    return max(1, math.ceil(quota / period))


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cgroup_limit() -> int | None:
    v2 = cgroup_cpus(_read(_CGROUP_V2))
    if v2 is not None:
        return v2
    quota, period = (_read(p) for p in _CGROUP_V1)
    if quota is None or period is None or quota.startswith("-"):
        return None
    return cgroup_cpus(f"{quota} {period}")


def available_cpus() -> int:
    """The cores this process may use: affinity mask ∩ cgroup quota (at least 1)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        n = os.cpu_count() or 1
    limit = _cgroup_limit()
    return max(1, min(n, limit) if limit is not None else n)


def _positive_int(text: str | None) -> int | None:
    try:
        v = int(str(text).strip())
    except (TypeError, ValueError):
        return None
    return v if v >= 1 else None


def _cpu_times() -> tuple[int, int] | None:
    """(idle, total) jiffies of all cores from ``/proc/stat``; ``None`` where unreadable."""
    line = _read(_PROC_STAT)
    if not line:
        return None
    parts = line.splitlines()[0].split()
    if not parts or parts[0] != "cpu":
        return None
    try:
        ticks = [int(v) for v in parts[1:]]
    except ValueError:
        return None
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return idle, sum(ticks[:8])


def idle_cpus(window: float = 0.25) -> float | None:
    """How many of the machine's cores were idle over the last ``window`` seconds (from
    ``/proc/stat``; this process sleeps meanwhile); ``None`` where it cannot be read."""
    a = _cpu_times()
    if a is None:
        return None
    time.sleep(window)
    b = _cpu_times()
    if b is None or b[1] <= a[1]:
        return None
    return (b[0] - a[0]) / (b[1] - a[1]) * (os.cpu_count() or 1)


def thread_count(env: Mapping[str, str] | None = None, *, idle: float | None = None) -> int:
    """``SIMGRAD_THREADS`` if set, else ``OMP_NUM_THREADS`` if set, else the
    :func:`available_cpus` that are idle (``idle``: a count from :func:`idle_cpus`, measured
    when ``None`` and ``env`` is the process environment), at least 1."""
    measure = env is None
    env = os.environ if env is None else env
    for key in (ENV, "OMP_NUM_THREADS"):
        v = _positive_int(env.get(key))
        if v is not None:
            return v
    n = available_cpus()
    if idle is None and measure:
        idle = idle_cpus()
    if idle is None:
        return n
    return max(1, min(n, int(idle + 0.5)))


def set_env_defaults(env: MutableMapping[str, str] | None = None) -> None:
    """Tell GNU OpenMP to spin only briefly (``GOMP_SPINCOUNT=1000``) unless the user chose a
    spin count or a wait policy; effective only before torch is first imported.

    >>> e = {"OMP_WAIT_POLICY": "PASSIVE"}; set_env_defaults(e); "GOMP_SPINCOUNT" in e
    False
    """
    env = os.environ if env is None else env
    if "OMP_WAIT_POLICY" not in env:
        env.setdefault("GOMP_SPINCOUNT", "1000")
    n = _positive_int(env.get(ENV))
    if n is not None:
        env.setdefault("OMP_NUM_THREADS", str(n))


def configure_torch() -> int:
    """Set torch's intra-op threads to :func:`thread_count` (torch is imported if needed);
    returns the count."""
    set_env_defaults()
    import torch

    n = thread_count()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
