"""Atomic file writes and resumable checkpoints.

Every file the main job writes goes through :func:`atomic_write_bytes`: the content is written
to a temporary file in the destination folder, flushed to disk, then moved over the target
with :func:`os.replace` (atomic on POSIX and Windows). A reader — or a rerun after a crash —
therefore sees either the old file or the complete new one, never a torn write.

:class:`Checkpoints` stores the results of one unit of work (e.g. one measure × seed run) as
an ``.npz`` keyed by a hash of the arguments that affect it (:func:`args_hash`), so a rerun
with the same arguments loads what already finished and recomputes only the rest.

>>> import tempfile, numpy as np
>>> d = tempfile.mkdtemp()
>>> ck = Checkpoints(d)
>>> key = args_hash({"measure": "cka", "seed": 0})
>>> _ = ck.save(key, {"scores": np.array([0.1, 0.5])})
>>> ck.load(key)["scores"].tolist()
[0.1, 0.5]
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "Checkpoints",
    "args_hash",
    "atomic_write_bytes",
    "atomic_write_csv",
    "atomic_write_json",
    "atomic_write_text",
    "check_writable_dir",
    "csv_text",
    "file_mode",
    "locked_dir",
    "previous_outputs",
    "remove_outputs",
]

#: the lock file :func:`locked_dir` holds in an output folder
LOCK_NAME = ".simgrad.lock"


def _umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no read-only way elsewhere; restore at once
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The permission bits a new file gets from ``open()``: ``0o666`` less the umask.

    :func:`tempfile.mkstemp` creates files readable by their owner only (``0o600``);
    :func:`atomic_write_bytes` gives them this mode instead, so reports and tables are as
    shareable as any other file the user creates.

    >>> file_mode() & 0o600
    384
    """
    return 0o666 & ~_umask()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder + ``os.replace``).

    The parent folder is created if needed. Returns the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes 0600 whatever the umask
            os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text atomically, with ``\\n`` line endings on every platform."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically (keys in insertion order)."""
    return atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def csv_text(df: Any) -> str:
    """A DataFrame as deterministic CSV text.

    Floats are written in shortest round-trip form (reading the file back gives the same
    float64 values), missing values as empty cells, no index, ``\\n`` line endings.
    """
    buf = io.StringIO()
    df.to_csv(buf, index=False, na_rep="", lineterminator="\n")
    return buf.getvalue()


def atomic_write_csv(path: str | os.PathLike, df: Any) -> Path:
    """Write a DataFrame with :func:`csv_text` atomically."""
    return atomic_write_text(path, csv_text(df))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def args_hash(args: Mapping[str, Any], length: int = 16) -> str:
    """A stable hex digest of the arguments that determine a unit's results.

    Keys are sorted and numbers written by JSON, so the same arguments give the same hash in
    any process and on any machine.

    >>> args_hash({"b": 1, "a": [1, 2]}) == args_hash({"a": [1, 2], "b": 1})
    True
    """
    if not isinstance(args, Mapping):
        raise TypeError(f"args must be a mapping, got {type(args).__name__}.")
    text = json.dumps(args, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def check_writable_dir(path: str | os.PathLike, name: str = "out") -> Path:
    """Create ``path`` if needed and check that files can be written in it.

    Raises ``ValueError`` naming the argument when the folder cannot be created or written
    (a file in the way, no permission, read-only file system).
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ValueError(f"{name}: {str(p)!r} exists and is not a folder.")
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".simgrad-write-test.", dir=p)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ValueError(f"{name}: cannot write into {str(p)!r} ({reason}).") from None
    return p


class Checkpoints:
    """Finished units of work, one ``<key>.npz`` each in ``folder``.

    Values are numpy arrays (numbers or fixed-width strings; nothing is pickled). A file is
    only ever visible complete, so a unit is either fully checkpointed or absent.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        if not key or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"key must be a lowercase hex digest, got {key!r}.")
        return self.folder / f"{key}.npz"

    def __contains__(self, key: str) -> bool:
        return self.path(key).is_file()

    def save(self, key: str, arrays: Mapping[str, Any]) -> Path:
        """Store ``arrays`` (name → array-like) under ``key`` atomically."""
        buf = io.BytesIO()
        clean = {}
        for name, value in arrays.items():
            arr = np.asarray(value)
            if arr.dtype == object:
                raise TypeError(f"checkpoint array {name!r} has dtype object; use numbers or str.")
            clean[name] = arr
        np.savez(buf, **clean)
        return atomic_write_bytes(self.path(key), buf.getvalue())

    def load(self, key: str, required: Collection[str] = ()) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key``, or ``None`` when absent or unusable.

        A file that does not load (truncated, not a zip, not an ``.npz``) or lacks one of the
        ``required`` arrays was damaged outside our atomic writes: it is reported with a
        warning and ``None`` is returned, so the unit is recomputed (and the file replaced).
        """
        p = self.path(key)
        if not p.is_file():
            return None
        try:
            with np.load(p, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
            _warn_damaged(p, f"does not load ({type(exc).__name__}: {exc})")
            return None
        missing = [k for k in required if k not in arrays]
        if missing:
            _warn_damaged(p, f"lacks {', '.join(map(repr, missing))}")
            return None
        return arrays


def _warn_damaged(path: Path, why: str) -> None:
    warnings.warn(
        f"checkpoint {str(path)!r} {why}; recomputing that unit.", RuntimeWarning, stacklevel=3
    )


@contextlib.contextmanager
def locked_dir(
    path: str | os.PathLike, *, wait: float | None = None, name: str = "out"
) -> Iterator[Path]:
    """Hold an exclusive lock on the output folder ``path`` while the block runs.

    Two runs writing into one folder would mix their files; with this lock a second run
    waits (``wait`` seconds, ``None`` = as long as it takes, printing one line on stderr
    first) and then proceeds, or raises ``ValueError`` naming the folder when ``wait``
    runs out (``wait=0``: stop at once). The lock is the file ``.simgrad.lock`` in the
    folder (``filelock``; released when the process dies, so it never goes stale).
    """
    from filelock import FileLock, Timeout

    folder = check_writable_dir(path, name)
    lock = FileLock(str(folder / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if wait is not None and wait <= 0:
            raise ValueError(
                f"{name}: {str(folder)!r} is in use by another simgrad run; wait for it to "
                "finish or choose another folder."
            ) from None
        print(
            f"simgrad: {str(folder)!r} is in use by another run; waiting for it to finish …",
            file=sys.stderr,
            flush=True,
        )
        try:
            lock.acquire(timeout=-1 if wait is None else wait)
        except Timeout:
            raise ValueError(
                f"{name}: {str(folder)!r} is still in use by another simgrad run after {wait:g} s."
            ) from None
    try:
        yield folder
    finally:
        lock.release()


def previous_outputs(
    folder: str | os.PathLike, manifest: str = "run.json", legacy: Collection[str] = ()
) -> set[str]:
    """The files an earlier run wrote into ``folder``, as listed in its ``manifest``
    (``"files"``: paths relative to the folder); ``legacy`` when the manifest predates that
    list; nothing when there is no readable manifest written by simgrad (its ``versions``
    record simgrad's)."""
    try:
        info = json.loads((Path(folder) / manifest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(info, dict) or "simgrad" not in (info.get("versions") or {}):
        return set()  # not a manifest simgrad wrote: touch nothing
    files = info.get("files")
    if files is None:
        return set(legacy)
    return {f for f in files if isinstance(f, str)}


def remove_outputs(folder: str | os.PathLike, files: Collection[str]) -> list[str]:
    """Delete the listed files (paths relative to ``folder``) that are plain files inside it;
    anything else (absolute paths, ``..``, folders, links out) is left alone. Returns the
    paths removed."""
    root = Path(folder).resolve()
    removed = []
    for rel in sorted(files):
        p = Path(rel)
        if p.is_absolute() or ".." in p.parts:
            continue
        target = root / p
        if target.is_symlink() or not target.is_file() or root not in target.resolve().parents:
            continue
        try:
            target.unlink()
            removed.append(rel)
        except OSError:
            pass
    return removed
