"""Writing results so that a crash or Ctrl-C never leaves a half-written file, an output
never replaces a device, a FIFO or a link, and every text nncalc writes it can read back."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

from nncalc.errors import NncalcError

#: What a file is written from: text, bytes, or text in pieces (written as they come).
Content = str | bytes | Iterable[str]

#: The path that means standard output, as in most Unix tools.
STDOUT = "-"


def atomic_write(path: str | Path, text: Content) -> None:
    """Write ``text`` (or bytes) to a temporary file beside ``path``, then rename it into place."""
    atomic_write_all([(path, text)])


def write_outputs(files: Sequence[tuple[str | Path, Content]]) -> None:
    """Write each file where it belongs, never damaging what is already there.

    A new path or a regular file is replaced atomically (all the regular files or none);
    a link to a regular file replaces the file it leads to and keeps the link; anything
    else that exists (a device such as /dev/null, a FIFO, a terminal, /dev/stdout on a
    pipe) is opened and written into, as a shell's ``>`` would, and never replaced.
    """
    atomic: list[tuple[str | Path, Content]] = []
    streamed: list[tuple[str | Path, Content]] = []
    for path, content in files:
        kind = _existing_kind(path)
        if kind == "regular link":
            atomic.append((os.path.realpath(path), content))
        elif kind in ("new", "regular"):
            atomic.append((path, content))
        else:
            streamed.append((path, content))
    atomic_write_all(atomic)
    for path, content in streamed:
        write_into(path, content)


def _existing_kind(path: str | Path) -> str:
    """'new', 'regular', 'regular link' (a link to a regular file) or 'special'."""
    try:
        link = stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return "new"  # absent (or unreachable: the atomic write names the reason)
    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return "new"  # a dangling link: replaced by the file, as before
    if not regular:
        return "special"
    return "regular link" if link else "regular"


def write_into(path: str | Path, content: Content) -> None:
    """Open an existing ``path`` (no creating, no truncating, no renaming) and write into it."""
    chunks = [content] if isinstance(content, str | bytes) else content
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk if isinstance(chunk, bytes) else chunk.encode("utf-8"))
    except BrokenPipeError:
        raise  # the reader went away: the CLI ends quietly, as for stdout
    except OSError as exc:
        raise _cannot_write(path, exc) from None


def atomic_write_all(files: Sequence[tuple[str | Path, Content]]) -> None:
    """Write several files all or none: each goes to a temporary file beside its target,
    and only when every one is complete are they renamed into place.

    The files get the permissions a new file gets from the umask (mkstemp's are 0600).
    """
    if not files:
        return
    import tempfile  # only when writing files: keeps startup fast

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


# YAML that nncalc writes for others to fill in (variants, sheets) must read back exactly,
# whatever a student id or a problem's name holds.
