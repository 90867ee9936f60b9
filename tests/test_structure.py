"""The package's structure: imports run one way, without circles, and every quantity's rule
reads only what it declares.

* Imports are read from the source with :mod:`ast` (nothing is imported), wherever they
  are: at the top, inside functions and under ``if TYPE_CHECKING:`` (a type-only import
  still ties the lower module to the higher one's names).  Each module has a tier, lowest
  first; it may import from its own tier or a lower one, and no chain of imports may lead
  back to where it started (a circle that only works because one import is deferred into a
  function is still a circle).
* The engine's follow-through grading trusts ``Network.inputs(name)``: when a student's
  earlier value is wrong, the quantities that *declare* it as input are judged against
  what follows from it.  A rule that reads a quantity it does not declare would be judged
  against the wrong world, so each rule is run on a dict that records what it reads.

The checks take the package's folder, so the tests at the end run them on small synthetic
packages too: each can fail (a circle, an upward import, a module left out of the table)
and each can pass.
"""

from __future__ import annotations

import ast
import textwrap
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nncalc
from nncalc.engine import Network

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nncalc"

#: The tiers, lowest first: a module may import only from its own tier or a lower one.
#: ``__init__`` is the top: ``from nncalc import X`` of a name (not a submodule) imports it.
TIER_TABLE = (
    "errors escape formula vocabulary names yamlio output display",  # 0 foundation
    "validate expr notation rubric layers optimizers",  # 1 math and validation
    "problem answers schema",  # 2 loading (schema: what files may hold)
    "engine work training finite_diff derivations",  # 3 engine
    "results sources grading template",  # 4 grading
    "render report mathml plot notebook",  # 5 presentation
    "variants api cli autograder __init__ __main__",  # 6 top
)
TIERS = {module: tier for tier, line in enumerate(TIER_TABLE) for module in line.split()}


# ---------------------------------------------------------------------------
# Reading the imports


@dataclass(frozen=True, order=True)
class Import:
    """``importer`` imports ``imported`` (both modules of the package) at ``line``."""

    importer: str
    line: int
    imported: str


def modules(package: Path) -> dict[str, Path]:
    """The package's modules by name ('engine', '__init__'), read from its folder."""
    return {path.stem: path for path in sorted(package.glob("*.py"))}


def subpackages(package: Path) -> list[str]:
    return sorted(p.parent.name for p in package.glob("*/__init__.py"))


def imports_of(package: Path) -> list[Import]:
    """Every import of one of the package's modules, anywhere in any of its modules."""
    found = []
    for name, path in modules(package).items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found += [Import(name, node.lineno, target) for target in _targets(node, package)]
    return sorted(found)


def _targets(node: ast.Import | ast.ImportFrom, package: Path) -> Iterator[str]:
    """The package's modules one import statement loads.

    ``import nncalc.x``, ``from nncalc.x import y`` and ``from .x import y`` load x;
    ``from nncalc import x`` (or ``from . import x``) loads x when x is a submodule, else it
    takes a name from the package itself: ``__init__``.  A bare ``import nncalc`` is
    ``__init__`` too.
    """
    top = package.name
    if isinstance(node, ast.Import):
        for alias in node.names:
            head, _, rest = alias.name.partition(".")
            if head == top:
                yield rest.partition(".")[0] or "__init__"
    else:
        if node.level > 1:
            return  # beyond the (flat) package
        dotted = node.module or ""
        if node.level == 0:
            head, _, dotted = dotted.partition(".")
            if head != top:
                return
        if dotted:
            yield dotted.partition(".")[0]
            return
        names = modules(package)
        for alias in node.names:
            yield alias.name if alias.name in names else "__init__"


# ---------------------------------------------------------------------------
# The two checks on imports


def tier_findings(package: Path, tiers: dict[str, int]) -> list[str]:
    """Modules left out of the table, then every import of a higher tier, in file order.

    Modules in the table that do not exist (yet) are ignored.
    """
    findings = [
        f"{name} is not in the tier table" for name in modules(package) if name not in tiers
    ]
    findings += [
        f"subpackage {name} is not read by this check (it reads flat modules)"
        for name in subpackages(package)
    ]
    for imp in imports_of(package):
        low, high = tiers.get(imp.importer), tiers.get(imp.imported)
        if low is not None and high is not None and high > low:
            findings.append(
                f"{imp.importer} (tier {low}) imports {imp.imported} (tier {high}), line {imp.line}"
            )
    return findings


def import_graph(package: Path) -> dict[str, dict[str, int]]:
    """importer → {imported: the first line importing it}."""
    graph: dict[str, dict[str, int]] = {name: {} for name in modules(package)}
    for imp in imports_of(package):
        graph[imp.importer].setdefault(imp.imported, imp.line)
    return graph


def _shortest_path(graph: dict[str, dict[str, int]], start: str, goal: str) -> list[str] | None:
    """A shortest chain of imports from ``start`` to ``goal`` (breadth first), or None."""
    came_from: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if here == goal:
            path = [here]
            while (before := came_from[path[-1]]) is not None:
                path.append(before)
            return path[::-1]
        for there in sorted(graph.get(here, {})):
            if there not in came_from:
                came_from[there] = here
                queue.append(there)
    return None


def import_cycles(package: Path) -> list[str]:
    """Every circle of imports, written 'a:12 -> b:3 -> a' (module:line of its import).

    An import a → b lies on a circle when b leads back to a; for each such import the
    shortest circle through it is listed once (rotated to start at its smallest module),
    so every import that takes part in a circle appears in at least one line.
    """
    graph = import_graph(package)
    circles = set()
    for importer, imported in ((a, b) for a in graph for b in graph[a]):
        back = _shortest_path(graph, imported, importer)
        if back is None:
            continue
        ring = [importer, *back[:-1]]  # each module once; the circle closes at ring[0]
        first = ring.index(min(ring))
        circles.add(tuple(ring[first:] + ring[:first]))
    lines = []
    for loop in sorted(circles):
        hops = [f"{a}:{graph[a][b]}" for a, b in zip(loop, [*loop[1:], loop[0]], strict=True)]
        lines.append(" -> ".join([*hops, loop[0]]))
    return lines


def test_imports_run_one_way() -> None:
    """A lower module never imports a higher one (type-only and deferred imports count)."""
    findings = tier_findings(PACKAGE, TIERS)
    assert findings == [], "imports against the tiers:\n" + "\n".join(findings)


def test_no_import_circles() -> None:
    """No chain of imports leads back to its start, counting imports inside functions."""
    circles = import_cycles(PACKAGE)
    message = "circles of imports (module:line of each import):\n" + "\n".join(circles)
    assert circles == [], message


# ---------------------------------------------------------------------------
# The checks on synthetic packages: each finds what it should, and passes a clean tree


def write_package(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir()
    for name, text in files.items():
        (folder / f"{name}.py").write_text(text, encoding="utf-8")
    return folder


FAKE_TIERS = {"base": 0, "middle": 1, "top": 2, "__init__": 2, "planned": 1}

CLEAN = {
    "__init__": "from fake.top import run\n",
    "base": "import os\n",
    "middle": textwrap.dedent("""\
        from typing import TYPE_CHECKING

        import fake.base
        from fake import base
        from . import base as again
        from .base import os

        if TYPE_CHECKING:
            from fake.base import os as also
        """),
    "top": textwrap.dedent("""\
        def run():
            from fake import middle
            from fake.middle import again

            return middle, again
        """),
}

BROKEN = {
    **CLEAN,
    "base": textwrap.dedent("""\
        import os


        def later():
            from fake import top  # upward, and base -> top -> middle -> base

            return top
        """),
    "middle": CLEAN["middle"] + "    from .top import run  # type-only, still upward\n",
    "extra": "import fake\nfrom fake import run  # a name, not a submodule: from __init__\n",
}


def test_the_checks_pass_a_clean_package(tmp_path: Path) -> None:
    """Downward imports of every form (and a table entry with no module yet) are fine."""
    package = write_package(tmp_path / "fake", CLEAN)
    assert tier_findings(package, FAKE_TIERS) == []
    assert import_cycles(package) == []
    every_form = [(i.line, i.imported) for i in imports_of(package) if i.importer == "middle"]
    assert every_form == [(3, "base"), (4, "base"), (5, "base"), (6, "base"), (9, "base")]
    assert import_graph(package) == {
        "__init__": {"top": 1},
        "base": {},
        "middle": {"base": 3},
        "top": {"middle": 2},
    }


def test_the_checks_find_upward_imports_circles_and_unplaced_modules(tmp_path: Path) -> None:
    """Function-level and type-only imports count, and so does a module left out."""
    package = write_package(tmp_path / "fake", BROKEN)
    assert tier_findings(package, FAKE_TIERS) == [
        "extra is not in the tier table",
        "base (tier 0) imports top (tier 2), line 5",
        "middle (tier 1) imports top (tier 2), line 10",
    ]
    assert import_cycles(package) == [
        "base:5 -> top:2 -> middle:3 -> base",
        "middle:10 -> top:2 -> middle",
    ]
    assert [i for i in imports_of(package) if i.importer == "extra"] == [
        Import("extra", 1, "__init__"),
        Import("extra", 2, "__init__"),
    ]


# ---------------------------------------------------------------------------
# Every rule reads what it declares


class ReadRecorder(dict[str, Any]):
    """The values a rule is given, noting each key it reads.

    ``get`` of a key that is absent reads nothing (the rule takes its default): the
    optimizer asks for every state of a parameter, those not computed yet included, and
    uses the ones its update needs.
    """

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        if key in self:
            self.read.add(key)
        return super().get(key, default)


def problem(layers: list[dict[str, Any]], x: Any, y: Any, **extra: Any) -> dict[str, Any]:
    """A problem file as a mapping, with parameters drawn (``init``)."""
    size = extra.pop("input", np.shape(x)[-1] if np.ndim(x) else 1)
    return {
        "network": {"input": size, "layers": layers},
        "learning_rate": 0.1,
        "init": {"seed": 7, "scale": 0.5},
        "x": x,
        "y": y,
        **extra,
    }


def dense(units: int, activation: str, **more: Any) -> dict[str, Any]:
    return {"units": units, "activation": activation, **more}


def conv(channels: int, kernel: int, **more: Any) -> dict[str, Any]:
    return {"type": "conv2d", "channels": channels, "kernel": kernel, **more}


def rnn(units: int, output: str, **more: Any) -> dict[str, Any]:
    return {"type": "rnn", "units": units, "output": output, **more}


FLATTEN = {"type": "flatten"}
IMAGE = [[1, 2, 0, 1, 2], [0, 1, 3, 1, 0], [2, 0, 1, 0, 1], [1, 1, 0, 2, 2], [0, 2, 1, 1, 0]]
XOR = [[0, 0], [0, 1], [1, 0], [1, 1]]
SEQUENCES = [[[1, 0], [0, 1], [1, 1]], [[0, 0], [1, -1], [0.5, 0.5]]]

#: Built problems that reach every kind of rule the files in problems/ do not.
BUILT = {
    "softmax-ce-batch-mean": problem(
        [dense(3, "tanh"), dense(2, "softmax")],
        XOR,
        [[1, 0], [0, 1], [0, 1], [1, 0]],
        loss="cross_entropy",
        optimizer="momentum",
    ),
    "sigmoid-bce-batch-sum": problem(
        [dense(2, "relu"), dense(1, "sigmoid")],
        XOR,
        [0, 1, 1, 0],
        loss="binary_cross_entropy",
        reduction="sum",
        optimizer="nesterov",
    ),
    "mse-softmax-jacobian-hidden-softmax": problem(
        [dense(3, "softmax"), dense(3, "leaky_relu(x, 0.1)"), dense(2, "softmax", bias=False)],
        [1.0, -1.0, 0.5],
        [0.2, 0.8],
        loss="mse",
        optimizer="rmsprop",
    ),
    "sse-frozen-W-adam": problem(
        [dense(2, "sigmoid"), dense(2, "identity")],
        XOR,
        [[1, 0], [0, 1], [0, 1], [1, 0]],
        loss="sse",
        frozen=["W1", "b2"],
        optimizer={"name": "adam", "step": 3, "state": {"m_W2": [[0.1, 0], [0, 0.1]]}},
    ),
    "conv-maxpool-conv-flatten": problem(
        [
            conv(2, 2, activation="relu"),
            {"type": "maxpool2d", "kernel": 2, "stride": 1},
            conv(1, 2, in_channels=2),
            FLATTEN,
            dense(2, "softmax"),
        ],
        IMAGE,
        [0, 1],
        input=[1, 5, 5],
        loss="cross_entropy",
        optimizer="adam",
    ),
    "conv-avgpool-batch": problem(
        [
            conv(1, 2, padding=1, stride=2, bias=False),
            {"type": "avgpool2d", "kernel": 2},
            FLATTEN,
            dense(1, "sigmoid"),
        ],
        [IMAGE, np.transpose(IMAGE).tolist()],
        [1, 0],
        input=[1, 5, 5],
        loss="binary_cross_entropy",
        optimizer="momentum",
    ),
    "rnn-every-batch-mean": problem(
        [rnn(2, "every"), dense(1, "identity")],
        SEQUENCES,
        [[0.5, -0.2, 0.1], [0.0, 0.3, -0.1]],
        loss="half_sse",
        optimizer="nesterov",
    ),
    "rnn-last-batch-adam": problem(
        [rnn(3, "last", h0=[0.1, 0, -0.1]), dense(2, "softmax")],
        SEQUENCES,
        [[1, 0], [0, 1]],
        loss="cross_entropy",
        reduction="sum",
        optimizer={"name": "adam", "step": 2},
    ),
    "rnn-last-single-rmsprop-frozen": problem(
        [rnn(2, "last", bias=False), dense(1, "identity")],
        [[1.0], [2.0], [-1.0]],
        [1.0],
        input=1,
        loss="mse",
        frozen=["Wh1"],
        optimizer="rmsprop",
    ),
}
FILES = [
    *sorted((ROOT / "problems").glob("*.yaml")),
    ROOT / "tests" / "data" / "relu_negative.yaml",
]
CASES = {**{path.stem: path for path in FILES}, **BUILT}


def load(case: Path | dict[str, Any]) -> Any:
    return nncalc.load_problem(case) if isinstance(case, Path) else nncalc.problem_from_dict(case)


def declared_and_read(problem: Any) -> Iterator[tuple[str, list[str], set[str], set[str]]]:
    """Each quantity in plan order: its declared inputs, the computed quantities its rule
    read, and those computed before it.

    Each rule runs on a fresh Network, so no result kept from an earlier rule (the conv
    columns, the max-pool winners) can stand in for a read.
    """
    network = Network(problem)
    values = network.given()
    plan = [name for _, name in network.plan()]
    assert not set(plan) & set(values), "a computed quantity is also given"
    done: set[str] = set()
    with np.errstate(all="ignore"):
        for name in plan:
            recorder = ReadRecorder(values)
            values[name] = Network(problem).compute(name, recorder)
            yield name, network.inputs(name), recorder.read & set(plan), set(done)
            done.add(name)


def may_leave_unread(problem: Any, name: str) -> bool:
    """θ' = θ for a frozen parameter: its update declares the gradient, as every update
    does, and reads only θ (given).  Harmless for grading: θ' follows from θ alone, so a
    wrong gradient upstream changes neither its value nor its verdict."""
    return name.endswith("_new") and name.removesuffix("_new") in problem.frozen


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_every_quantitys_declared_inputs_cover_what_its_rule_reads(
    case: Path | dict[str, Any],
) -> None:
    """Network.inputs(name) lists exactly the computed quantities compute(name) reads.

    Given values (x, y, the parameters, the optimizer's state before the step, t, A0, an
    rnn's x_t and h0) are not inputs.  Declared inputs must be computed earlier, and every
    one must be read, except where :func:`may_leave_unread` says why not.
    """
    loaded = load(case)
    disagreements = []
    for name, declared, read, earlier in declared_and_read(loaded):
        undeclared = sorted(read - set(declared))
        unread = [n for n in declared if n not in read and not may_leave_unread(loaded, name)]
        not_earlier = [n for n in declared if n not in earlier]
        if undeclared or unread or not_earlier:
            disagreements.append(
                f"{name}: read {sorted(read)}, declared {declared}"
                + (f"; reads undeclared {undeclared}" if undeclared else "")
                + (f"; declares unread {unread}" if unread else "")
                + (f"; declares {not_earlier}, not computed before it" if not_earlier else "")
            )
    message = "rules and their declared inputs disagree:\n" + "\n".join(disagreements)
    assert disagreements == [], message
