"""Where the key comes from, whose sheet it is, and which files a class holds.

Students' files are hostile, so a sheet never chooses its own key: the problem comes
from a source the instructor names (:class:`GivenProblem`, :class:`VariantsIndex`,
:class:`ProblemRoots`); a sheet's ``problem:`` field is only a claim, checked against
it. :class:`SelfCheck` follows the claim, for a student checking their own work (the
CLI allows it for one file only, in no gradebook format).

A student's identity is where their file is (:func:`identity`), and every entry of a
folder that looks like a sheet is either a file to grade or an error (:func:`find_sheets`).
"""

from __future__ import annotations

import csv
import errno
import io
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from nncalc.answers import AnswerSheet
from nncalc.errors import NncalcError
from nncalc.yamlio import STDIN, read_text

SHEET_SUFFIXES = (".yaml", ".yml")
#: A file with one of these names is named after its folder (generate's layout: s001/answers.yaml).
FOLDER_NAMED = ("answers.yaml", "answers.yml")
SELF_CHECK_NOTE = "self-check: graded against the problem the sheet names; not a grade"


def identity(path: str | Path) -> str:
    """The student a sheet belongs to: its file's stem, or its folder's name for answers.yaml."""
    path = Path(path)
    if str(path) == STDIN:
        return "stdin"
    if path.name in FOLDER_NAMED:
        return Path(os.path.abspath(path)).parent.name
    return path.stem


# ---------------------------------------------------------------------------
# Key sources


class KeySource:
    """Where a sheet's problem comes from; ``problem_for`` refuses a claim that contradicts it."""

    #: Whether the sheet's ``problem:`` field is read at all (not with ``--problem``).
    reads_claim = True
    #: A warning every result carries (a self-check is not a grade).
    note: str | None = None
    #: Whether the problem files are the instructor's: their errors may quote them.
    trusted = True

    def problem_for(self, sheet: AnswerSheet, student: str) -> Path:
        raise NotImplementedError

    def student_of(self, identity: str) -> str:
        """The student an identity (a file's stem or folder) names."""
        return identity


@dataclass
class GivenProblem(KeySource):
    """``--problem FILE``: every sheet against it, whatever the sheet says."""

    path: Path
    reads_claim = False

    def problem_for(self, sheet: AnswerSheet, student: str) -> Path:
        return self.path


@dataclass
class SelfCheck(KeySource):
    """No instructor's source: the sheet's own claim (one student checking their own work)."""

    note: str | None = SELF_CHECK_NOTE
    trusted: bool = False  # the library's callers (not the CLI) trust their sheets

    def problem_for(self, sheet: AnswerSheet, student: str) -> Path:
        if sheet.problem is None:
            raise NncalcError(
                "missing 'problem' (the problem file); or pass --problem", source=sheet.file
            )
        return sheet.problem


def _lexical(path: str | Path) -> str:
    """An absolute path with '.' and '..' resolved by text alone (no link is followed)."""
    return os.path.normpath(os.path.abspath(path))


def _claim_text(claim: str) -> str:
    return claim if len(claim) <= 120 else claim[:120] + "…"


@dataclass
class VariantsIndex(KeySource):
    """``--variants DIR``: the index ``nncalc generate`` wrote; each student, their variant."""

    folder: Path
    problems: dict[str, Path] = field(default_factory=dict)  # student id → their problem
    folders: dict[str, str] = field(default_factory=dict)  # folder name → student id

    @classmethod
    def read(cls, folder: Path) -> VariantsIndex:
        index = folder / "index.csv"
        rows = list(csv.DictReader(io.StringIO(read_text(index))))
        if not rows or not {"student", "folder"} <= set(rows[0]):
            raise NncalcError("expected the index nncalc generate writes", source=str(index))
        source = cls(folder)
        for row in rows:
            student, name = row["student"] or "", row["folder"] or ""
            if not name or os.path.basename(name) != name or name in (".", ".."):
                raise NncalcError(f"a student's folder is not a name: {name!r}", source=str(index))
            source.problems[student] = folder / name / "problem.yaml"
            source.folders[name] = student
        return source

    def known(self, identity: str) -> str | None:
        """The index's student for an identity: a student id, or the folder made for them."""
        if identity in self.problems:
            return identity
        return self.folders.get(identity)

    def student_of(self, identity: str) -> str:
        return self.known(identity) or identity

    def problem_for(self, sheet: AnswerSheet, student: str) -> Path:
        known = self.known(student)
        if known is None:
            raise NncalcError(
                f"no student {student!r} in {self.folder / 'index.csv'} (the sheet's name "
                "or folder is its student)",
                source=sheet.file,
            )
        trusted = self.problems[known]
        claim = sheet.claim
        folder = trusted.parent.name
        # generate writes "../<folder>/problem.yaml" into each blank sheet.
        if claim is None or claim == f"../{folder}/problem.yaml":
            return trusted
        if sheet.problem is not None and _lexical(sheet.problem) == _lexical(trusted):
            return trusted
        raise NncalcError(
            f"names {_claim_text(claim)}, but {known}'s problem is {trusted}", source=sheet.file
        )


@dataclass
class ProblemRoots(KeySource):
    """``--problem-root DIR``: a sheet's claim must name a regular file inside a root."""

    roots: list[Path]
    allowed: dict[str, bool] = field(default_factory=dict)  # each claimed path, checked once

    def problem_for(self, sheet: AnswerSheet, student: str) -> Path:
        if sheet.claim is None or sheet.problem is None:
            raise NncalcError(
                "names no problem; with --problem-root a sheet must name its problem file",
                source=sheet.file,
            )
        claimed = _lexical(sheet.problem)
        if claimed not in self.allowed:
            self.allowed[claimed] = any(
                _inside(claimed, _lexical(root)) and _regular_inside(claimed, root)
                for root in self.roots
            )
        if self.allowed[claimed]:
            return sheet.problem
        # The same words whether the path is missing, elsewhere or not a file: a sheet
        # cannot probe the grader's disk.
        raise NncalcError(
            f"names {_claim_text(sheet.claim)}, which is not a problem file under the problem "
            "roots (--problem-root)",
            source=sheet.file,
        )


def _inside(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # different drives
        return False


def _regular_inside(path: str, root: Path) -> bool:
    """A regular file whose real location (links followed) is still inside ``root``."""
    try:
        real = os.path.realpath(path, strict=True)
        return _inside(real, os.path.realpath(root)) and stat.S_ISREG(os.stat(real).st_mode)
    except (OSError, ValueError):
        return False


# ---------------------------------------------------------------------------
# Finding the sheets


@dataclass(frozen=True)
class Entry:
    """A file to grade, or an entry that looks like one and cannot be (``error``)."""

    path: Path
    error: str | None = None


def find_sheets(paths: list[Path]) -> list[Entry]:
    """Every answers file named or under the folders named, in a stable order.

    Under a folder, every entry named ``*.yaml``/``*.yml`` is accounted for: a regular
    file (or a link to one that stays inside the folder) is graded; a FIFO, socket,
    device, a dangling, looping or escaping link is an error, and so is a sub-folder that
    cannot be read. Hidden names (a leading '.') are skipped only below the folder given.
    """
    entries: list[Entry] = []
    for path in paths:
        try:
            is_folder = stat.S_ISDIR(os.stat(path).st_mode)
        except FileNotFoundError:
            is_folder = False  # a missing file becomes an error row when graded
        except OSError as exc:
            entries.append(Entry(path, _reason(exc)))
            continue
        if is_folder:
            entries += _walk(path)
        else:
            entries.append(Entry(path))
    return entries


def _reason(exc: OSError) -> str:
    """What went wrong, in words: never a file's content."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ENAMETOOLONG:
        return "the name is too long"
    if exc.errno == errno.ELOOP:
        return "a link that loops"
    return f"cannot read: {exc.strerror or type(exc).__name__}"


def _walk(top: Path) -> list[Entry]:
    found: list[Entry] = []
    real_top = os.path.realpath(top)
    pending = [top]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as scan:
                children = list(scan)
        except OSError as exc:
            found.append(Entry(folder, f"cannot read the folder: {_reason(exc)}"))
            continue
        for child in children:
            if child.name.startswith("."):
                continue
            path = Path(folder) / child.name
            try:
                if child.is_dir(follow_symlinks=False):
                    pending.append(path)
                elif child.name.endswith(SHEET_SUFFIXES):
                    found.append(_sheet_entry(path, child, real_top))
            except OSError as exc:
                found.append(Entry(path, _reason(exc)))
    found.sort(key=lambda entry: str(entry.path))
    return found


def _sheet_entry(path: Path, child: os.DirEntry[str], real_top: str) -> Entry:
    if child.is_symlink():
        try:
            real = os.path.realpath(path, strict=True)
        except FileNotFoundError:
            return Entry(path, "a link to nothing (dangling)")
        except OSError as exc:
            return Entry(path, _reason(exc))
        if not _inside(real, real_top):
            return Entry(path, "a link that leads out of the folder being graded")
        mode = os.stat(real).st_mode
    else:
        mode = child.stat(follow_symlinks=False).st_mode
    if not stat.S_ISREG(mode):
        return Entry(path, "not a regular file")
    return Entry(path)
