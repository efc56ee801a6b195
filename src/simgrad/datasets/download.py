"""Where dataset files live, and fetching public files with pooch (cache; checksums where
pinned — the two public downloads have none: see :func:`fetch`).

Files are looked up under :func:`data_dir`: ``$SIMGRAD_DATA_DIR`` when set, else a per-user
cache (``pooch.os_cache("simgrad")``, e.g. ``~/.cache/simgrad``). Inside it, each dataset keeps
the folder and file names of the project's shared data folder (e.g.
``hatsopoulos2007_m1_condavg/hatsopoulos2007_condavg.npz``).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["data_dir", "fetch", "fetch_for", "find_file", "provenance", "sha256_file"]


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
    try:
        found = path.is_file()
    except OSError:  # e.g. an unreadable data directory: the file cannot be used either
        found = False
    if not found:
        where = "" if _readable(base) else f" ({base} cannot be read)"
        raise FileNotFoundError(
            f"dataset {dataset!r}: expected file {filename!r} at {path}{where}. Put "
            f"{folder}/{filename} under the data directory ({base}; set SIMGRAD_DATA_DIR or "
            f"pass data_dir=...). {hint}".strip()
        )
    return path


def _readable(folder: Path) -> bool:
    try:
        return not folder.exists() or os.access(folder, os.R_OK | os.X_OK)
    except OSError:
        return False


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 hex digest of a file (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def provenance(path: str | os.PathLike, known_hash: str | None) -> dict[str, Any]:
    """What a loader records about the file it read (``Dataset.extra["download"]``, copied
    into ``run.json``): its SHA-256 and whether it was checked against a pinned hash."""
    return {
        "file": str(path),
        "sha256": sha256_file(path),
        "verified": known_hash is not None,
    }


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
    """Download ``url`` once into ``data_dir(root)/folder`` and verify its checksum if pinned.

    ``known_hash`` is ``"sha256:<hex>"`` (or ``"md5:..."``); ``None`` skips verification and
    must only be used where the real checksum is unknown (documented at each call site): a
    ``UserWarning`` then says the file is unverified and gives its SHA-256. A data directory
    named by ``SIMGRAD_DATA_DIR`` must exist: nothing is created under a mistyped one.
    A file already in the cache with the right hash is not downloaded again; a mismatching
    download raises ``ValueError`` and is not kept. Returns what pooch returns (the path, or the
    processor's output, e.g. the list of unzipped files).

    >>> fetch("https://example.org/x.zip", "sha256:...", "mydata")  # doctest: +SKIP
    """
    import pooch

    base = data_dir(root)
    if root is None and os.environ.get("SIMGRAD_DATA_DIR") and not base.is_dir():
        raise FileNotFoundError(
            f"the data directory {base} (SIMGRAD_DATA_DIR) does not exist; "
            "create it first, or unset SIMGRAD_DATA_DIR to use the per-user cache."
        )
    path = base / folder
    path.mkdir(parents=True, exist_ok=True)
    target = path / fname if fname else None
    existed = target is not None and target.is_file()
    result = pooch.retrieve(
        url,
        known_hash=known_hash,
        fname=fname,
        path=path,
        processor=processor,
        progressbar=progressbar,
        downloader=downloader,
    )
    if known_hash is None and target is not None and not existed and target.is_file():
        warnings.warn(
            f"downloaded {url} without verifying it (no checksum is pinned); its SHA-256 is "
            f"{sha256_file(target)} (recorded in the dataset's metadata and run.json).",
            UserWarning,
            stacklevel=3,
        )
    return result


def fetch_for(dataset: str, url: str, known_hash: str | None, folder: str, fname: str, *,
             root: str | os.PathLike | None, put: str, processor: Any = None) -> Any:  # fmt: skip
    """:func:`fetch` for a loader: a checksum mismatch (``ValueError``) or a missing data
    directory (``FileNotFoundError``) as they are, any other failure as an ``OSError`` saying
    what to ``put`` where instead."""
    try:
        return fetch(url, known_hash, folder, fname, root=root, processor=processor)
    except (ValueError, FileNotFoundError):
        raise
    except Exception as exc:
        raise OSError(f"{dataset}: could not download {url} ({exc}); put {put}.") from None
