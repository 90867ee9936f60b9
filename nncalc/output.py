"""Writing results so that a crash or Ctrl-C never leaves a half-written file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from nncalc.errors import NncalcError


def atomic_write(path: str | Path, text: Content) -> None:
    """Write ``text`` (or bytes) to a temporary file beside ``path``, then rename it into place."""
    atomic_write_all([(path, text)])


#: What a file is written from: text, bytes, or text in pieces (written as they come).
Content = str | bytes | Iterable[str]


def atomic_write_all(files: Sequence[tuple[str | Path, Content]]) -> None:
    """Write several files all or none: each goes to a temporary file beside its target,
    and only when every one is complete are they renamed into place.

    The files get the permissions a new file gets from the umask (mkstemp's are 0600).
    """
    mask = os.umask(0)
    os.umask(mask)
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in files:
            target = Path(path)
            try:
                fd, tmp = tempfile.mkstemp(
                    prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or "."
                )
            except OSError as exc:
                raise _cannot_write(path, exc) from None
            staged.append((tmp, target))
            chunks = [text] if isinstance(text, str | bytes) else text
            try:
                os.fchmod(fd, 0o666 & ~mask)
                with os.fdopen(fd, "wb") as handle:
                    for chunk in chunks:
                        handle.write(chunk if isinstance(chunk, bytes) else chunk.encode("utf-8"))
                    handle.flush()
                    os.fsync(handle.fileno())
            except OSError as exc:
                raise _cannot_write(path, exc) from None
        for tmp, target in staged:
            try:
                os.replace(tmp, target)
            except OSError as exc:
                raise _cannot_write(target, exc) from None
    finally:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)


def _cannot_write(path: str | Path, exc: OSError) -> NncalcError:
    return NncalcError(f"cannot write: {exc.strerror or exc}", source=str(path))
