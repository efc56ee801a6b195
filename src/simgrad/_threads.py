"""Thread settings for shared machines: never spin, and use only the cores this process has.

Lab machines and cluster nodes are shared. Two things make a CPU-bound torch program
wasteful there, and this module fixes both:

- **Spinning.** OpenMP worker threads busy-wait between parallel regions by default; when
  another process holds a core, the spinning threads burn CPU time without doing work.
  :func:`set_env_defaults` sets ``OMP_WAIT_POLICY=PASSIVE`` (and ``KMP_BLOCKTIME=0`` for
  Intel's runtime) unless the user set them. OpenMP reads these once, when torch is loaded,
  so ``import simgrad`` calls it before importing torch.
- **Too many threads.** ``os.cpu_count()`` counts the machine, not the cores this process may
  use. :func:`available_cpus` is the smaller of the CPU affinity mask
  (``os.sched_getaffinity``) and the cgroup CPU quota (``cpu.max`` of cgroup v2, or
  ``cpu.cfs_quota_us / cpu.cfs_period_us`` of v1), rounded up.

The knob: ``SIMGRAD_THREADS=N`` fixes the number of threads (else ``OMP_NUM_THREADS`` when set,
else :func:`available_cpus`). :func:`configure_torch` applies it (``torch.set_num_threads``);
``sg.run`` and the ``simgrad`` command call it.

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
from collections.abc import Mapping, MutableMapping
from pathlib import Path

__all__ = [
    "ENV",
    "available_cpus",
    "cgroup_cpus",
    "configure_torch",
    "set_env_defaults",
    "thread_count",
]

#: the environment variable that fixes simgrad's number of threads
ENV = "SIMGRAD_THREADS"

_CGROUP_V2 = Path("/sys/fs/cgroup/cpu.max")
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


def thread_count(env: Mapping[str, str] | None = None) -> int:
    """``SIMGRAD_THREADS`` if set, else ``OMP_NUM_THREADS`` if set, else
    :func:`available_cpus`."""
    env = os.environ if env is None else env
    for key in (ENV, "OMP_NUM_THREADS"):
        v = _positive_int(env.get(key))
        if v is not None:
            return v
    return available_cpus()


def set_env_defaults(env: MutableMapping[str, str] | None = None) -> None:
    """Tell OpenMP not to spin (``OMP_WAIT_POLICY=PASSIVE``, ``KMP_BLOCKTIME=0``) unless the
    user chose otherwise; effective only before torch is first imported.

    >>> e = {"OMP_WAIT_POLICY": "ACTIVE"}; set_env_defaults(e); e["OMP_WAIT_POLICY"]
    'ACTIVE'
    """
    env = os.environ if env is None else env
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env.setdefault("KMP_BLOCKTIME", "0")
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
