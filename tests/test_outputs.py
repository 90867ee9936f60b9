"""Issue 11, `-o` and `generate` never damage anything (the attacks of the issue, through the CLI).

- `-o` to something that exists and is not a regular file (a device, a FIFO, a link to
  one, /dev/stdout) is written into, never replaced; `-o -` is standard output.
- `generate` keeps the variants of an earlier run unless --force, never writes through a
  symbolic link, writes every id and name so that nncalc reads it back, and gives ids
  whose safe names clash folders of their own.

No test here touches the machine's /dev/null: the devices and FIFOs are made in tmp_path.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import nncalc
from nncalc.cli import app
from nncalc.variants import generate, read_roster, safe_folder

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "problems" / "a4.yaml"
FULL = ROOT / "tests" / "data" / "a4" / "full.yaml"

#: One run of every command that has -o, without the -o.
COMMANDS = {
    "solve": ["solve", str(A4), "--format", "plain"],
    "verify": ["verify", str(FULL), "--problem", str(A4), "--format", "plain"],
    "template": ["template", str(A4)],
    "schema": ["schema", "answers"],
}


def run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


# -o -------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_dash_is_standard_output_not_a_file_named_dash(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.chdir(tmp_path)
    code, expected, _ = run(runner, *COMMANDS[command])
    assert code == 0
    code, written, err = run(runner, *COMMANDS[command], "-o", "-")
    assert (code, err) == (0, "")
    assert written == expected
    assert not os.path.lexists(tmp_path / "-")


def written_to_a_regular_file(runner: CliRunner, folder: Path, command: str) -> bytes:
    """What ``-o`` writes into a regular file in ``folder`` (a template's path to the
    problem is relative to where it is written)."""
    regular = folder / "regular"
    assert run(runner, *COMMANDS[command], "-o", str(regular))[0] == 0
    written = regular.read_bytes()
    regular.unlink()
    return written


@contextmanager
def fifo_reader(path: Path) -> Iterator[list[bytes]]:
    """A FIFO at ``path`` and a thread reading it; what it read is in the list after."""
    os.mkfifo(path)
    spare = path.with_name(path.name + ".spare")
    os.link(path, spare)  # reaches the FIFO even if something replaced ``path``
    read: list[bytes] = []

    def reader() -> None:
        with open(path, "rb") as handle:
            read.append(handle.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        yield read
    finally:
        if thread.is_alive():  # nothing wrote into the FIFO: release the reader
            # ENXIO: no reader any more (it was closing just now): nothing to release
            with contextlib.suppress(OSError):
                os.close(os.open(spare, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(10)
        spare.unlink()


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("through_link", [False, True], ids=["fifo", "link-to-fifo"])
def test_a_fifo_is_written_into_not_replaced(
    runner: CliRunner, tmp_path: Path, command: str, through_link: bool
) -> None:
    """As `-o /dev/stdout` on a pipe: the FIFO (and the link to it) must survive."""
    fifo = tmp_path / "pipe"
    target = tmp_path / "stdout" if through_link else fifo
    expected = written_to_a_regular_file(runner, tmp_path, command)
    with fifo_reader(fifo) as read:
        if through_link:
            target.symlink_to(fifo)
        code, printed, err = run(runner, *COMMANDS[command], "-o", str(target))
    assert (code, printed, err) == (0, "", "")
    assert read == [expected]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    if through_link:
        assert os.readlink(target) == str(fifo)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def _device_like_dev_null(tmp_path: Path) -> Path:
    """A character device 1,3 (what /dev/null is) in tmp_path, or skip where not allowed."""
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        with open(node, "wb") as handle:
            handle.write(b"probe")
    except OSError as exc:  # not root, or tmp_path is mounted nodev
        pytest.skip(f"cannot make a device node here: {exc.strerror}")
    return node


@pytest.mark.parametrize("command", COMMANDS)
def test_a_device_stays_a_device(runner: CliRunner, tmp_path: Path, command: str) -> None:
    """`-o /dev/null` as root used to rename a regular file over the device."""
    device = _device_like_dev_null(tmp_path)
    link = tmp_path / "also-null"
    link.symlink_to(device)
    for target in (device, link):
        code, printed, err = run(runner, *COMMANDS[command], "-o", str(target))
        assert (code, printed, err) == (0, "", "")
        assert stat.S_ISCHR(os.stat(device).st_mode)
        assert stat.S_ISLNK(os.lstat(link).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["also-null", "null"]


def test_a_link_to_a_regular_file_keeps_the_link(runner: CliRunner, tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "schema.json"
    link.symlink_to(real)
    code, _, err = run(runner, "schema", "problem", "-o", str(link))
    assert (code, err) == (0, "")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert json.loads(real.read_text())["title"]


def test_a_regular_file_is_still_replaced_atomically(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    target.write_text("old")
    before = os.stat(target).st_ino
    code, _, _ = run(runner, "schema", "problem", "-o", str(target))
    assert code == 0
    assert os.stat(target).st_ino != before  # a new file renamed into place
    assert json.loads(target.read_text())


def test_a_folder_is_a_clean_error(runner: CliRunner, tmp_path: Path) -> None:
    code, _, err = run(runner, "schema", "problem", "-o", str(tmp_path))
    assert code == 2
    assert err.startswith("error: ") and "cannot write" in err
    assert list(tmp_path.iterdir()) == []


# generate: earlier variants ------------------------------------------------------------


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def gen(runner: CliRunner, out: Path, *args: str) -> tuple[int, str, str]:
    return run(runner, "generate", str(A4), "--out", str(out), *args)


def test_generate_keeps_an_earlier_runs_keys_unless_force(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "v"
    assert gen(runner, out, "--count", "2", "--seed", "1")[0] == 0
    before = tree(out)
    code, printed, err = gen(runner, out, "--count", "2", "--seed", "2")
    assert (code, printed) == (2, "")
    assert err == (
        f"error: {out}: --output: already holds variants (index.csv); their sheets may be "
        "handed out already. Choose another folder, or replace them with force\n"
    )
    assert tree(out) == before
    code, _, err = gen(runner, out, "--count", "2", "--seed", "2", "--force")
    assert (code, err) == (0, "")
    assert tree(out)["s001/problem.yaml"] != before["s001/problem.yaml"]


def test_generate_sees_earlier_variants_without_an_index(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "v"
    assert gen(runner, out, "--count", "1")[0] == 0
    (out / "index.csv").unlink()  # an interrupted run, or a tidied folder
    code, _, err = gen(runner, out, "--count", "1", "--seed", "5")
    assert code == 2 and "already holds variants (s001/problem.yaml)" in err
    # an empty folder, or one with other things in it, is fine
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "roster.csv").write_text("s1\n")
    assert gen(runner, tmp_path / "w", "--count", "1")[0] == 0


# generate: symbolic links --------------------------------------------------------------


@pytest.mark.parametrize("force", [False, True])
def test_generate_never_writes_through_a_student_folder_that_is_a_link(
    runner: CliRunner, tmp_path: Path, force: bool
) -> None:
    out, outside = tmp_path / "v", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / "s002").symlink_to(outside)
    code, _, err = gen(runner, out, "--count", "3", *(["--force"] if force else []))
    assert code == 2
    assert err == (
        f"error: {out / 's002'}: is a symbolic link; nncalc generate does not write through links\n"
    )
    assert list(outside.iterdir()) == []
    assert sorted(p.name for p in out.iterdir()) == ["s002"]  # nothing written


def test_generate_never_writes_through_a_file_that_is_a_link(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "v"
    assert gen(runner, out, "--count", "2")[0] == 0
    secret = tmp_path / "grades.csv"
    secret.write_text("keep me\n")
    (out / "s002" / "key.json").unlink()
    (out / "s002" / "key.json").symlink_to(secret)
    before = tree(out)
    code, _, err = gen(runner, out, "--count", "2", "--seed", "9", "--force")
    assert code == 2 and f"{out / 's002' / 'key.json'}: is a symbolic link" in err
    assert secret.read_text() == "keep me\n"
    assert tree(out) == before


# generate: ids --------------------------------------------------------------------------


def roster_file(tmp_path: Path, ids: list[str]) -> Path:
    path = tmp_path / "roster.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["student"], *[[i] for i in ids]])
    return path


def read_back(runner: CliRunner, out: Path) -> dict[str, tuple[str, str, str]]:
    """Per index row: (folder, the student verify reads from the sheet, the variant's name)."""
    with (out / "index.csv").open(newline="", encoding="utf-8") as index:
        rows = list(csv.DictReader(index))
    seen = {}
    for row in rows:
        problem, sheet = out / row["problem"], out / row["answers"]
        # --variants: the index maps the sheet's folder back to its student's id
        result = runner.invoke(app, ["verify", "--variants", str(out), str(sheet), "-f", "json"])
        graded = json.loads(result.stdout)
        assert graded.get("error") is None, graded
        seen[row["student"]] = (row["folder"], graded["student"], nncalc.load_problem(problem).name)
    return seen


HOSTILE_IDS = [
    "𠮷田",  # beyond the BMP: json.dumps wrote a surrogate pair PyYAML read as two characters
    "田中",
    "山田",  # both were '__': the whole roster was refused
    "line\nbreak",
    'quote"back\\slash#: colon',
    "e\u0301",  # a combining mark
    "x\u2028y\x85z",
    "Ab",
    "ab",  # the same folder where file systems ignore case
    "s001",
]


def test_generate_writes_any_id_so_that_nncalc_reads_it_back(
    runner: CliRunner, tmp_path: Path
) -> None:
    roster = roster_file(tmp_path, HOSTILE_IDS)
    assert read_roster(roster) == HOSTILE_IDS
    out = tmp_path / "v"
    code, _, err = gen(runner, out, "--roster", str(roster))
    assert (code, err) == (0, "")
    seen = read_back(runner, out)
    assert list(seen) == HOSTILE_IDS
    folders = [folder for folder, _, _ in seen.values()]
    assert len({f.casefold() for f in folders}) == len(folders)
    for sid, (folder, student, name) in seen.items():
        assert student == sid
        assert name == f"DS4023 Assignment 4, Problem 1 (variant for {sid})"
        assert (out / folder).is_dir() and folder.isascii()
    assert seen["s001"][0] == "s001"  # a safe id is its own folder
    assert seen["田中"][0] != seen["山田"][0]
    sheet = (out / seen["line\nbreak"][0] / "answers.yaml").read_text()
    assert sheet.startswith(
        "# Answer sheet for: DS4023 Assignment 4, Problem 1 (variant for line\\u000abreak)\n"
    )


def test_identical_ids_are_an_error_naming_the_duplicate(runner: CliRunner, tmp_path: Path) -> None:
    roster = roster_file(tmp_path, ["田中", "山田", "田中"])
    code, _, err = gen(runner, tmp_path / "v", "--roster", str(roster))
    assert code == 2
    assert err == f"error: {roster}:4: student id '田中' appears twice (also on line 2)\n"
    assert not (tmp_path / "v").exists()
    with pytest.raises(nncalc.NncalcError, match="student id 'x' appears twice"):
        generate(nncalc.load_problem(A4), ["x", "x"], 0, tmp_path / "w")


def test_safe_folders() -> None:
    assert safe_folder("s001") == "s001"
    assert safe_folder("a-1_b.c") == "a-1_b.c"
    for lossy in ("a/2", "田中", "..", "con", "x" * 101, ".hidden"):
        folder = safe_folder(lossy)
        assert folder != lossy and len(folder) <= 100 and folder.isascii()
        assert folder.split("-")[-1].isalnum() and len(folder.split("-")[-1]) == 10
    assert safe_folder("a/2").startswith("a_2-")
    assert safe_folder("s001", hashed=True).startswith("s001-")


WEIRD_NAME = 'A4\nsecond line # "quoted": 𠮷\u202e \\ end'


def test_a_problem_name_with_a_newline_gives_sheets_nncalc_reads(
    runner: CliRunner, tmp_path: Path
) -> None:
    """The name is in the variant's `name:` and in the sheet's first comment line."""
    text = A4.read_text(encoding="utf-8").replace(
        "name: DS4023 Assignment 4, Problem 1",
        yaml.safe_dump({"name": WEIRD_NAME}, allow_unicode=True, width=1000).strip(),
        1,
    )
    assert text != A4.read_text(encoding="utf-8")
    weird = tmp_path / "weird.yaml"
    weird.write_text(text, encoding="utf-8")
    code, _, err = run(runner, "template", str(weird), "-o", str(tmp_path / "sheet.yaml"))
    assert (code, err) == (0, "")
    blank = runner.invoke(
        app, ["verify", "--problem", str(weird), str(tmp_path / "sheet.yaml"), "-f", "json"]
    )
    assert json.loads(blank.stdout).get("error") is None
    out = tmp_path / "v"
    code, _, err = run(runner, "generate", str(weird), "--out", str(out), "--count", "1")
    assert (code, err) == (0, "")
    assert read_back(runner, out) == {"s001": ("s001", "s001", f"{WEIRD_NAME} (variant for s001)")}


ids = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(students=st.lists(ids, min_size=1, max_size=3, unique=True), name=ids)
def test_property_generate_writes_ids_nncalc_reads_back(
    runner: CliRunner, tmp_path_factory: pytest.TempPathFactory, students: list[str], name: str
) -> None:
    """Any ids and any problem name: the variant and the sheet read back as written."""
    out = tmp_path_factory.mktemp("variants")
    problem = dataclasses.replace(nncalc.load_problem(A4), name=name)
    generate(problem, students, 3, out)
    seen = read_back(runner, out)
    assert list(seen) == students
    assert len({folder.casefold() for folder, _, _ in seen.values()}) == len(students)
    for sid, (_, student, variant_name) in seen.items():
        assert student == sid
        assert variant_name == f"{name} (variant for {sid})"
