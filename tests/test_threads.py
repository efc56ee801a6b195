"""Thread settings for shared machines (simgrad._threads): no spinning, threads from the
cores this process may use, the SIMGRAD_THREADS knob."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from simgrad import _threads


def _python(code: str, **env: str) -> str:
    e = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "SIMGRAD_THREADS")}
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


def test_env_defaults_keep_the_users_choice():
    env = {"OMP_WAIT_POLICY": "ACTIVE", "SIMGRAD_THREADS": "2"}
    _threads.set_env_defaults(env)
    assert env == {
        "OMP_WAIT_POLICY": "ACTIVE",
        "KMP_BLOCKTIME": "0",
        "SIMGRAD_THREADS": "2",
        "OMP_NUM_THREADS": "2",
    }


def test_import_simgrad_sets_passive_waiting_before_torch_loads():
    code = (
        "import sys, os; import simgrad; "
        "print(os.environ['OMP_WAIT_POLICY'], 'torch' in sys.modules)"
    )
    assert _python(code) == "PASSIVE True"
    assert _python(code, OMP_WAIT_POLICY="ACTIVE") == "ACTIVE True"


def test_configure_torch_applies_the_knob():
    code = (
        "import torch, simgrad._threads as t; print(t.configure_torch(), torch.get_num_threads())"
    )
    assert _python(code, SIMGRAD_THREADS="1") == "1 1"
