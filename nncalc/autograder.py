"""A Gradescope autograder in one zip: nncalc's own wheel, the problem, and the two scripts.

Gradescope builds an image from the zip once (``setup.sh``: a virtual environment with
the wheel and its dependencies from PyPI), then runs ``run_autograder`` for every
submission: the student's answers file in ``/autograder/submission/`` is graded against
the problem in the zip, the only key, into ``/autograder/results/results.json`` in
Gradescope's format (https://gradescope-autograders.readthedocs.io, "Autograder
Specifications"), with its optional fields ``execution_time``, ``visibility``,
``stdout_visibility`` and, per test, ``number`` and ``visibility``.

``python -m nncalc.autograder ROOT`` is what ``run_autograder`` calls; ``ROOT`` is
``/autograder`` on Gradescope (a test passes a temporary folder).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import time
import zipfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from nncalc import __version__
from nncalc.errors import NncalcError

Visibility = Literal["visible", "hidden", "after_due_date", "after_published"]
VISIBILITIES: tuple[Visibility, ...] = ("visible", "hidden", "after_due_date", "after_published")
WHEEL = f"nncalc-{__version__}-py3-none-any.whl"
#: A fixed time for every zip entry, so the same inputs give the same bytes.
_EPOCH = (1980, 1, 1, 0, 0, 0)

SETUP = f"""\
#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder's image.
set -euo pipefail
apt-get update -qq
apt-get install -y -qq python3 python3-venv > /dev/null
python3 -m venv /autograder/nncalc-venv
/autograder/nncalc-venv/bin/pip install --quiet /autograder/source/{WHEEL}
"""

RUN = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission: the problem in source/ is the only key.
set -u
root="${AUTOGRADER_ROOT:-/autograder}"
python="${NNCALC_PYTHON:-$root/nncalc-venv/bin/python}"
exec "$python" -m nncalc.autograder "$root"
"""


def build(problem_file: Path, *, visibility: Visibility, show_expected: bool) -> bytes:
    """The autograder zip for ``problem_file`` (checked to load first)."""
    from nncalc.problem import load_problem

    load_problem(problem_file)  # a problem nncalc refuses is refused now, not on Gradescope
    settings = {"visibility": visibility, "show_expected": show_expected}
    files = {
        "setup.sh": SETUP.encode(),
        "run_autograder": RUN.encode(),
        "problem.yaml": problem_file.read_bytes(),
        "settings.json": (json.dumps(settings, indent=2) + "\n").encode(),
        WHEEL: wheel(),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, _EPOCH)
            info.external_attr = (0o755 if name.endswith(("sh", "autograder")) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return out.getvalue()


def wheel() -> bytes:
    """nncalc as a wheel, built from the running package's own files (no source tree, no
    build tools, no index needed)."""
    package = Path(__file__).resolve().parent
    dist_info = f"nncalc-{__version__}.dist-info"
    requires = [r for r in (metadata.requires("nncalc") or []) if "extra ==" not in r]
    meta = [
        "Metadata-Version: 2.1",
        "Name: nncalc",
        f"Version: {__version__}",
        "Requires-Python: >=3.10",
        *(f"Requires-Dist: {r}" for r in requires),
    ]
    files = {f"nncalc/{p.name}": p.read_bytes() for p in sorted(package.glob("*.py"))}
    files[f"{dist_info}/METADATA"] = ("\n".join(meta) + "\n").encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: nncalc\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files[f"{dist_info}/entry_points.txt"] = b"[console_scripts]\nnncalc = nncalc.cli:main\n"
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files.items()]
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, _EPOCH), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def run(root: Path) -> dict[str, Any]:
    """Grade the one answers file in ``root/submission`` into ``root/results/results.json``;
    a submission without exactly one answers file gets a result that says so."""
    from nncalc.grading import grade_files
    from nncalc.report import render_results

    start = time.monotonic()
    source = root / "source"
    settings = json.loads((source / "settings.json").read_text())
    sheets = sorted(
        p
        for p in (root / "submission").rglob("*")
        if p.suffix in (".yaml", ".yml") and not p.name.startswith(".") and p.is_file()
    )
    if len(sheets) == 1:
        results = grade_files(sheets, problem=source / "problem.yaml")
        doc = json.loads(
            render_results(results, "gradescope", show_expected=settings["show_expected"])
        )
    else:
        found = "no answers file (.yaml)" if not sheets else f"{len(sheets)} answers files"
        doc = {
            "score": 0,
            "output": f"Your submission has {found}; upload exactly one, such as answers.yaml.",
            "tests": [],
        }
    for number, test in enumerate(doc["tests"], start=1):
        test.update(number=str(number), visibility="visible")
    doc.update(
        execution_time=round(time.monotonic() - start, 3),
        visibility=settings["visibility"],
        stdout_visibility="hidden",
    )
    results_folder = root / "results"
    results_folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    (results_folder / "results.json").write_text(text, encoding="utf-8")
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m nncalc.autograder ROOT``, as run_autograder calls it."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m nncalc.autograder ROOT", file=sys.stderr)
        return 2
    try:
        run(Path(args[0]))
    except NncalcError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
