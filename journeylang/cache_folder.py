"""The user's cache folder: what a run works out from bundled files (the DSL parser's tables,
the wording rulebook) kept for the next runs.

A cached file is named by a hash of everything it was made from, so a changed input or an
upgrade never reads another version's file; it is written to a temporary name and renamed
into place (processes starting together never read half a file); a folder that cannot be
written is simply not used. Readers treat a file they cannot read as missing.
"""
from __future__ import annotations

import hashlib
import marshal
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Any, Callable

CACHE_ENV = "JOURNEYLANG_CACHE_DIR"  # where to keep it; empty: no cache, work it out every run


def cache_dir() -> Path | None:
    """The folder for cached files: $JOURNEYLANG_CACHE_DIR, else the user's cache folder
    (``~/.cache/journeylang`` on Linux, ``~/Library/Caches/journeylang`` on macOS,
    ``%LOCALAPPDATA%\\journeylang\\Cache`` on Windows); None when caching is off."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured.strip() else None
    import platformdirs
    return Path(platformdirs.user_cache_dir("journeylang", appauthor=False))


def cached_path(prefix: str, made_from: list[str], suffix: str) -> Path | None:
    """Where the file made from the texts ``made_from`` (with this Python's version) is
    cached: ``PREFIX<hash>SUFFIX`` in the cache folder; None when caching is off."""
    folder = cache_dir()
    if folder is None:
        return None
    key = "\0".join([*made_from, "%d.%d" % sys.version_info[:2]])
    return folder / f"{prefix}{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}{suffix}"


def write_atomically(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Let ``write`` fill the file ``path`` (whole or not at all); on any failure (a
    read-only or full disk) leave nothing behind."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.",
                                         delete=False) as handle:
            temporary = handle.name
            write(handle)
        os.replace(temporary, path)
    except Exception:  # noqa: BLE001  run without the cache
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def cached_data(prefix: str, made_from: list[str], make: Callable[[], Any],
                valid: Callable[[Any], bool]) -> Any:
    """The data ``make()`` works out from the texts ``made_from``, kept in the cache folder in
    Python's own marshal form (plain data only): read from there when a file there is
    ``valid``, else made (a missing or damaged file is made again and replaced)."""
    path = cached_path(prefix, made_from, ".marshal")
    if path is not None:
        try:
            data = marshal.loads(path.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):  # missing or damaged: make it
            data = None
        if data is not None and valid(data):
            return data
    data = make()
    if path is not None:
        write_atomically(path, lambda handle: handle.write(marshal.dumps(data)))
    return data
