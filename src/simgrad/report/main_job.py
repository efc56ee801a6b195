"""``sg.run``: the main job, computed (:func:`simgrad.pipeline.compute`) then written
(:func:`simgrad.report.write_run`).

Its keyword options are exactly the fields of :class:`~simgrad.options.RunOptions` (plus
``config`` and ``progress``); its signature is generated from them.

Example (about a minute on a laptop)::

    import simgrad as sg
    res = sg.run(measures=["cka", "procrustes-angular_score"], max_iter=200, out="out")
    res.thresholds          # one row per measure × seed × label
    res.report              # out/report.html
"""

from __future__ import annotations

import inspect
import os
import typing
from typing import Any

from ..options import RunOptions, spec
from ..pipeline import RunResult, compute
from .findings import result_findings, text
from .summary import format_summary
from .write import write_run

__all__ = ["run"]


def run(
    dataset: Any = None,
    *,
    config: str | os.PathLike | None = None,
    progress: bool = True,
    **options: Any,
) -> RunResult:
    """Run the main job and write its outputs into ``out`` (default ``simgrad-out``).

    Options (``None`` = the config's value, else the default):

    {options}
    config : a TOML file holding any of these options; explicit arguments win over it.
    progress : report on stderr (a line per stage; a bar per run on a terminal) and print
        the summary on stdout.

    Returns the :class:`~simgrad.pipeline.RunResult` (tables as DataFrames; ``info`` is
    ``run.json``). Bad options raise ``ValueError``/``TypeError`` naming the option before
    any optimization.
    """
    from .._io import locked_dir
    from .._threads import configure_torch

    opts = RunOptions.create(config, dataset=dataset, **options)
    import torch

    before = torch.get_num_threads()
    try:
        configure_torch()  # no spinning, threads from the cores available (SIMGRAD_THREADS)
        with locked_dir(opts.out):  # a second run into the same folder waits (one line said)
            result = write_run(compute(opts, progress=progress), progress=progress)
    finally:
        torch.set_num_threads(before)  # the caller's setting (e.g. a notebook's) comes back
    if progress:
        from ..measures import short_name

        names = {m: short_name(m) for m in result.info["measures"]}
        table = format_summary(result.summary, cutoff=opts.cutoff, names=names, target=opts.target)
        print("\n" + table, flush=True)
        found = "\n".join(f"- {text(f)}" for f in result_findings(result))
        print(f"\nFindings:\n{found}", flush=True)
        print(f"\nreport: {result.report}", flush=True)
    return result


def _document() -> None:
    """Generate ``run``'s signature and the options part of its docstring from the fields."""
    hints = typing.get_type_hints(RunOptions)
    params = [
        inspect.Parameter(
            s.name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD
            if s.name == "dataset"
            else inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=hints[s.name] | None,
        )
        for s in spec()
    ]
    sig = inspect.signature(run)
    params += [sig.parameters["config"], sig.parameters["progress"]]
    run.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    lines = [f"{s.name} : {s.help} (default: {s.default}; {s.range})." for s in spec()]
    run.__doc__ = (run.__doc__ or "").replace("{options}", "\n    ".join(lines))


_document()
