"""Where dataset files live, and fetching public files with pooch (pinned checksums, cache).

Files are looked up under :func:`data_dir`: ``$SIMGRAD_DATA_DIR`` when set, else a per-user
cache (``pooch.os_cache("simgrad")``, e.g. ``~/.cache/simgrad``). Inside it, each dataset keeps
the folder and file names of the project's shared data folder (e.g.
``hatsopoulos2007_m1_condavg/hatsopoulos2007_condavg.npz``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["data_dir", "fetch", "find_file"]


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The data directory: ``path`` if given, else ``$SIMGRAD_DATA_DIR``, else the user cache."""
    if path is not None:
        return Path(path).expanduser()
    env = os.environ.get("SIMGRAD_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("simgrad"))


def find_file(
    folder: str, filename: str, dataset: str, root: str | os.PathLike | None = None, hint: str = ""
) -> Path:
    """``data_dir(root)/folder/filename``, or a FileNotFoundError explaining where to put it."""
    base = data_dir(root)
    path = base / folder / filename
    if not path.is_file():
        raise FileNotFoundError(
            f"dataset {dataset!r}: file {path} not found. Put {folder}/{filename} under the data "
            f"directory ({base}; set SIMGRAD_DATA_DIR or pass data_dir=...). {hint}".strip()
        )
    return path


def fetch(
    url: str,
    known_hash: str | None,
    folder: str,
    fname: str | None = None,
    *,
    root: str | os.PathLike | None = None,
    processor: Callable[..., Any] | None = None,
    progressbar: bool = False,
    downloader: Callable[..., Any] | None = None,
) -> Any:
    """Download ``url`` once into ``data_dir(root)/folder`` and verify its checksum.

    ``known_hash`` is ``"sha256:<hex>"`` (or ``"md5:..."``); ``None`` skips verification and
    must only be used where the real checksum is unknown (documented at each call site).
    A file already in the cache with the right hash is not downloaded again; a mismatching
    download raises ``ValueError`` and is not kept. Returns what pooch returns (the path, or the
    processor's output, e.g. the list of unzipped files).

    >>> fetch("https://example.org/x.zip", "sha256:...", "mydata")  # doctest: +SKIP
    """
    import pooch

    path = data_dir(root) / folder
    path.mkdir(parents=True, exist_ok=True)
    return pooch.retrieve(
        url,
        known_hash=known_hash,
        fname=fname,
        path=path,
        processor=processor,
        progressbar=progressbar,
        downloader=downloader,
    )
