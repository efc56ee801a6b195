"""Run every benchmark script present in benchmarks/ and collect their tables in one file.

    python benchmarks/run_all.py                         # all scripts, default options
    python benchmarks/run_all.py --only pairwise,peers   # bench_pairwise.py, bench_peers.py
    python benchmarks/run_all.py --out results.md --timeout 1800

Each script runs in its own process with ``--markdown`` when it accepts it (checked with
``--help``); its output is copied verbatim under a heading, after a header naming the
machine (CPU model and cores from ``lscpu``, torch and simgrad versions). A script that fails
or times out is reported, not hidden. The file is written atomically, and after each script,
so an interrupted run keeps the sections already finished.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ("core", "rsa", "pairwise", "peers", "optim", "decoding", "datasets")


def machine() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        info = dict(
            (k.strip(), v.strip())
            for k, _, v in (line.partition(":") for line in out.splitlines())
            if v
        )
        cpu = f"{info.get('Model name', '?')}, {info.get('CPU(s)', '?')} CPU(s)"
    except (OSError, subprocess.SubprocessError):
        cpu = platform.processor() or "unknown CPU"
    import torch

    import simgrad

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{cpu}; {gpu}; Python {platform.python_version()}, torch {torch.__version__}, "
        f"simgrad {simgrad.__version__}"
    )


def scripts(only: list[str] | None) -> list[Path]:
    found = sorted(
        HERE.glob("bench_*.py"),
        key=lambda p: (ORDER.index(p.stem[6:]) if p.stem[6:] in ORDER else len(ORDER), p.stem),
    )
    if only:
        found = [p for p in found if p.stem[6:] in only]
    return found


def accepts_markdown(path: Path) -> bool:
    try:
        h = subprocess.run(
            [sys.executable, str(path), "--help"], capture_output=True, text=True, timeout=120
        )
    except subprocess.TimeoutExpired:
        return False
    return "--markdown" in h.stdout


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="", help="comma-separated names: pairwise,peers,...")
    ap.add_argument("--out", default=str(HERE / "results.md"))
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per script")
    a = ap.parse_args(argv)
    only = [s.strip() for s in a.only.split(",") if s.strip()] or None
    out = Path(a.out)
    parts = [
        "# Benchmark results",
        "",
        f"Machine: {machine()}.",
        f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
    ]
    failed = 0
    for path in scripts(only):
        cmd = [sys.executable, str(path)] + (["--markdown"] if accepts_markdown(path) else [])
        print("running", " ".join(cmd[1:]), flush=True)
        t0 = time.perf_counter()
        try:
            res = subprocess.run(
                cmd, capture_output=True, text=True, timeout=a.timeout, cwd=HERE.parent
            )
            body, rc = res.stdout.strip(), res.returncode
            if rc:
                body += f"\n\n(exit code {rc})\n\n```\n{res.stderr.strip()[-2000:]}\n```"
        except subprocess.TimeoutExpired:
            body, rc = f"(timed out after {a.timeout:.0f} s)", -1
        failed += rc != 0
        parts += [
            f"## {path.name}",
            "",
            f"`{' '.join(['python', *cmd[1:]])}` — {time.perf_counter() - t0:.0f} s",
            "",
            body,
            "",
        ]
        write_atomic(out, "\n".join(parts))
    print(f"wrote {out}" + (f" ({failed} script(s) failed)" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
