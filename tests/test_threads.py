"""Thread settings for shared machines (simgrad._threads): a short spin, threads from the
cores this process may use that are idle, the SIMGRAD_THREADS knob."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from simgrad import _threads


def _python(code: str, **env: str) -> str:
    drop = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "SIMGRAD_THREADS")
    e = {k: v for k, v in os.environ.items() if k not in drop}
    e.pop("OMP_NUM_THREADS", None)
    e.update(env)
    out = subprocess.run(
        [sys.executable, "-c", code], env=e, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.mark.parametrize(
    ("text", "cpus"),
    [("max 100000", None), ("200000 100000", 2), ("50000 100000", 1), ("150000", 2), ("", None)],
)
def test_cgroup_quota_is_rounded_up(text, cpus):
    assert _threads.cgroup_cpus(text) == cpus


def test_available_cpus_never_exceeds_the_affinity_mask():
    n = _threads.available_cpus()
    assert 1 <= n <= len(os.sched_getaffinity(0))


def test_the_knob_wins_over_omp_num_threads_and_the_machine():
    assert _threads.thread_count({"SIMGRAD_THREADS": "3", "OMP_NUM_THREADS": "1"}) == 3
    assert _threads.thread_count({"OMP_NUM_THREADS": "1"}) == 1
    assert _threads.thread_count({"SIMGRAD_THREADS": "zero"}) == _threads.available_cpus()
    assert _threads.thread_count({}) == _threads.available_cpus()


@pytest.mark.parametrize(("idle", "want"), [(0.1, 1), (0.98, 1), (1.6, 2), (64.0, None)])
def test_threads_follow_the_idle_cores(idle, want):
    """One core busy elsewhere on two: one thread (two were 1.9× slower); never more threads
    than the cores this process may use."""
    n = _threads.available_cpus()
    expect = n if want is None else min(n, want)
    assert _threads.thread_count({}, idle=idle) == expect


def test_idle_cpus_reads_proc_stat():
    idle = _threads.idle_cpus(window=0.05)
    assert idle is None or 0.0 <= idle <= (os.cpu_count() or 1) + 1e-9


def test_env_defaults_keep_the_users_choice():
    env = {"OMP_WAIT_POLICY": "ACTIVE", "SIMGRAD_THREADS": "2"}
    _threads.set_env_defaults(env)
    assert env == {"OMP_WAIT_POLICY": "ACTIVE", "SIMGRAD_THREADS": "2", "OMP_NUM_THREADS": "2"}
    env = {"GOMP_SPINCOUNT": "50"}
    _threads.set_env_defaults(env)
    assert env == {"GOMP_SPINCOUNT": "50"}


def test_import_simgrad_sets_a_short_spin_before_torch_loads():
    code = (
        "import sys, os; import simgrad; "
        "print(os.environ.get('GOMP_SPINCOUNT'), 'torch' in sys.modules)"
    )
    assert _python(code) == "1000 True"
    assert _python(code, OMP_WAIT_POLICY="ACTIVE") == "None True"


def test_configure_torch_applies_the_knob():
    code = (
        "import torch, simgrad._threads as t; print(t.configure_torch(), torch.get_num_threads())"
    )
    assert _python(code, SIMGRAD_THREADS="1") == "1 1"
