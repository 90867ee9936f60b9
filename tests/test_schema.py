"""nncalc schema: the JSON Schemas of problem and answers files agree with the loaders.

The rule throughout: the schema never refuses what the loader accepts (an editor must not
flag a good file). The loader checks more than a schema can (shapes against the
architecture, names of quantities, limits), so the converse does not hold; what is
checked instead is that a list of typical mistakes is refused by both, and, on random
mutations of the reference problems, that whatever the schema refuses the loader refuses.

Each schema is checked with a draft 2020-12 validator (what it declares) and a draft-07
one (what yaml-language-server, in VS Code and other editors, implements).
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nncalc import schema as sch
from nncalc.answers import Answer, AnswerSheet, load_answers
from nncalc.cli import app
from nncalc.errors import NncalcError
from nncalc.problem import load_problem, problem_from_dict
from nncalc.template import answer_template

ROOT = Path(__file__).resolve().parent.parent
PROBLEM_FILES = sorted((ROOT / "problems").glob("*.yaml"))
DATA_FILES = sorted((ROOT / "tests" / "data").rglob("*.yaml"))

PROBLEM = sch.problem_schema()
ANSWERS = sch.answers_schema()
VALIDATORS = {
    "problem": [jsonschema.Draft202012Validator(PROBLEM), jsonschema.Draft7Validator(PROBLEM)],
    "answers": [jsonschema.Draft202012Validator(ANSWERS), jsonschema.Draft7Validator(ANSWERS)],
}


def schema_errors(kind: str, data: Any) -> list[jsonschema.ValidationError]:
    """The 2020-12 validator's errors, after checking the draft-07 one gives the same verdict."""
    modern, draft7 = VALIDATORS[kind]
    errors = list(modern.iter_errors(data))
    assert draft7.is_valid(data) == (not errors), "draft 2020-12 and draft-07 disagree"
    return errors


def schema_accepts(kind: str, data: Any) -> bool:
    return not schema_errors(kind, data)


def loader_accepts(data: Any) -> bool:
    """problem_from_dict's verdict; any exception other than NncalcError is a loader bug."""
    try:
        problem_from_dict(data)
    except NncalcError:
        return False
    return True


def read(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def is_problem_file(path: Path) -> bool:
    try:
        data = read(path)
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and "network" in data


A4 = read(ROOT / "problems" / "a4.yaml")
XOR = read(ROOT / "problems" / "batch_xor.yaml")  # parameters drawn with init
CLASSIC = read(ROOT / "problems" / "classic_222.yaml")  # frozen biases
# Written here so that the tests do not depend on the example files of problems/.
CONV = yaml.safe_load("""
network: {input: [1, 4, 4], layers: [{type: conv2d, channels: 1, kernel: 2, activation: relu},
  {type: maxpool2d, kernel: 2, stride: 1}, {type: flatten}, {units: 2, activation: softmax}]}
loss: cross_entropy
learning_rate: 0.1
optimizer: {name: adam, beta1: 0.9}
parameters: {W1: [[1, 0], [0, -1]], b1: [0.1], W4: [[0.1, 0.2, 0.3, 0.4], [-0.1, 0.2, -0.3, 0.4]],
  b4: [0, 0]}
x: [[1, 2, 0, 1], [0, 1, 3, 2], [2, 1, 0, 0], [1, 0, 1, 2]]
y: [1, 0]
""")
RNN = yaml.safe_load("""
network: {input: 2, layers: [{type: rnn, units: 2, output: every},
  {units: 1, activation: identity}]}
loss: half_sse
learning_rate: 0.1
optimizer: momentum
parameters: {Wx1: [[0.5, -0.3], [0.2, 0.4]], Wh1: [[0.1, 0.2], [-0.2, 0.3]], b1: [0, 0.1],
  W2: [[1.0, -1.0]], b2: [0]}
x: [[1, 0], [0, 1], [1, 1]]
y: [0.5, -0.2, 0.1]
""")


# ---------------------------------------------------------------------------
# The schemas themselves


@pytest.mark.parametrize("kind", sch.KINDS)
def test_schema_is_valid_json_schema(kind: str) -> None:
    schema = json.loads(sch.schema_json(kind))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "$id" not in schema  # no hosted copy: editors read the file the user writes
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft7Validator.check_schema(schema)


@pytest.mark.parametrize("kind", sch.KINDS)
def test_schema_json_is_the_schema(kind: str) -> None:
    text = sch.schema_json(kind)
    assert text.endswith("}\n")
    expected = sch.problem_schema() if kind == "problem" else sch.answers_schema()
    assert json.loads(text) == expected
    assert text == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("kind", ["", "problems", "Problem", "answer", "rubric"])
def test_unknown_kind(kind: str) -> None:
    with pytest.raises(NncalcError) as info:
        sch.schema_json(kind)
    assert str(info.value) == f"unknown schema {kind!r}; expected one of: problem, answers"


def test_schemas_are_fresh_copies() -> None:
    """Callers may change what they get (the CLI might add an $id) without touching others."""
    first = sch.problem_schema()
    first["properties"].clear()
    assert sch.problem_schema()["properties"]


def described(node: Any, where: str = "#") -> Iterator[tuple[str, Any]]:
    """Every subschema an editor shows as a key's documentation, with its location
    (and every alternative form of a mapping, such as each kind of layer)."""
    if isinstance(node, dict):
        for key in ("properties", "patternProperties", "$defs"):
            for name, sub in node.get(key, {}).items():
                yield f"{where}/{key}/{name}", sub
        for key in ("oneOf", "anyOf"):
            for i, sub in enumerate(node.get(key, [])):
                if isinstance(sub, dict) and "properties" in sub:
                    yield f"{where}/{key}/{i}", sub
        for key in ("additionalProperties", "items"):
            sub = node.get(key)
            if isinstance(sub, dict) and "$ref" not in sub:
                yield f"{where}/{key}", sub
        for key, sub in node.items():
            yield from described(sub, f"{where}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            yield from described(sub, f"{where}/{i}")


@pytest.mark.parametrize("kind", sch.KINDS)
def test_every_key_has_a_description(kind: str) -> None:
    schema = sch.problem_schema() if kind == "problem" else sch.answers_schema()
    assert schema["title"] and schema["description"]
    found = list(described(schema))
    assert len(found) >= (40 if kind == "problem" else 4)
    missing = [where for where, sub in found if not sub.get("description")]
    assert not missing


def test_additional_properties_refused_wherever_the_loader_refuses_them() -> None:
    closed = [
        where for where, sub in described(PROBLEM) if sub.get("additionalProperties") is False
    ]
    layers = "#/properties/network/properties/layers/items/oneOf"
    optimizers = "#/properties/optimizer/oneOf"
    assert sorted(closed) == sorted(
        [
            "#/properties/grading",
            "#/properties/grading/properties/tolerance",
            "#/properties/init",
            "#/properties/network",
            *(f"{layers}/{i}" for i in range(5)),  # dense, conv2d, pooling, flatten, rnn
            *(f"{optimizers}/{i}" for i in range(1, 6)),  # one mapping per optimizer
            *(f"{optimizers}/{i}/properties/state" for i in range(1, 6)),
            "#/properties/parameters",
        ]
    )
    assert PROBLEM["additionalProperties"] is False
    assert ANSWERS["additionalProperties"] is False


def test_vocabulary_is_the_loaders() -> None:
    """The schema reads the loaders' vocabulary (which imports quickly): its enums are its words."""
    from nncalc import answers, expr
    from nncalc import vocabulary as words

    assert set(words.ACTIVATION_FUNCTIONS) == set(expr._MAX_ARGS)
    assert PROBLEM["properties"]["loss"]["enum"] == list(words.LOSSES)
    assert PROBLEM["properties"]["reduction"]["enum"] == list(words.REDUCTIONS)
    init = PROBLEM["properties"]["init"]
    assert init["properties"]["distribution"]["enum"] == list(words.DISTRIBUTIONS)
    assert list(PROBLEM["properties"]) == list(words.TOP_KEYS)
    assert list(ANSWERS["properties"]) == list(answers._KEYS)
    assert PROBLEM["properties"]["grading"]["properties"]["partial"]["enum"] == ["none", "element"]


def test_layer_and_optimizer_vocabulary_is_the_loaders() -> None:
    from nncalc import vocabulary as words

    branches = PROBLEM["properties"]["network"]["properties"]["layers"]["items"]["oneOf"]
    kinds = [
        kind
        for branch in branches
        for kind in branch["properties"]["type"].get(
            "enum", [branch["properties"]["type"].get("const")]
        )
    ]
    assert kinds == list(words.LAYER_KINDS)
    optimizers = words.OPTIMIZERS
    forms = PROBLEM["properties"]["optimizer"]["oneOf"]
    assert forms[0]["enum"] == list(optimizers)
    assert [form["properties"]["name"]["const"] for form in forms[1:]] == list(optimizers)
    for name, form in zip(optimizers, forms[1:], strict=True):
        settings = [key for key in form["properties"] if key not in ("name", "step", "state")]
        assert settings == list(optimizers[name].settings)
        for key, default in optimizers[name].defaults.items():
            assert form["properties"][key]["default"] == default
        state = form["properties"]["state"]["patternProperties"]
        assert [pattern[1:].split("_(?:")[0] for pattern in state] == list(
            optimizers[name].carried_states
        )
    # Every key the loader knows, and no other, is in some form of the mapping.
    keys = {key for form in forms[1:] for key in form["properties"]}
    hyper = {key for entry in optimizers.values() for key in entry.settings}
    assert keys == {"name", "step", "state", *hyper}


def test_import_is_light() -> None:
    code = "import sys, nncalc.schema; print(sorted({'numpy', 'yaml'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("kind", sch.KINDS)
def test_schema_comment(kind: str, tmp_path: Path) -> None:
    """The first line examples carry: a YAML comment naming the file `nncalc schema` writes."""
    comment = sch.SCHEMA_COMMENT[kind]
    assert comment == f"# yaml-language-server: $schema={kind}.schema.json"
    assert sch.SCHEMA_FILE[kind] == f"{kind}.schema.json"
    # The loaders read a file that starts with it as before.
    if kind == "problem":
        path = tmp_path / "a4.yaml"
        path.write_text(comment + "\n" + (ROOT / "problems" / "a4.yaml").read_text("utf-8"))
        assert load_problem(path).name == "DS4023 Assignment 4, Problem 1"
    else:
        path = tmp_path / "s1.yaml"
        path.write_text(f"{comment}\nproblem: a4.yaml\nanswers: {{Z1: [1, 2, 3]}}\n")
        assert [a.written for a in load_answers(path).answers] == ["Z1"]


# ---------------------------------------------------------------------------
# The numbers written as text


_NUMBERISH = st.text(alphabet="0123456789.eE+- \t", max_size=10)


@given(_NUMBERISH)
def test_number_text_is_the_loaders(text: str) -> None:
    from nncalc.validate import NUMBER_TEXT

    assert bool(re.search(sch.NUMBER_TEXT, text)) == bool(NUMBER_TEXT.fullmatch(text))


def _underflows(text: str) -> bool:
    """A nonzero mantissa that float() takes to ±0 (1e-999): its sign is beyond a pattern."""
    mantissa = re.split("[eE]", text)[0]
    return float(text) == 0 and bool(re.search("[1-9]", mantissa))


@given(_NUMBERISH)
def test_signed_number_texts(text: str) -> None:
    from nncalc.validate import NUMBER_TEXT

    number = bool(NUMBER_TEXT.fullmatch(text))
    assume(not number or not _underflows(text))
    value = float(text) if number else None
    assert bool(re.search(sch.NONNEGATIVE_TEXT, text)) == (value is not None and value >= 0)
    assert bool(re.search(sch.POSITIVE_TEXT, text)) == (value is not None and value > 0)


@given(st.text(alphabet="0123456789.eE+-− \t", max_size=10))
def test_answer_number_text_is_the_graders(text: str) -> None:
    """The grader reads a numeric string exactly when the schema's pattern matches it."""
    from nncalc.grading import _nested

    read = _nested(text)
    # a number, or a number too large for a float (which the schema cannot tell apart)
    readable = isinstance(read, float) or read.startswith("not a finite number")
    if text.strip().lower().lstrip("+-−") in ("nan", "inf", "infinity"):
        readable = False  # named non-numbers: refused by both, with different words
    assert bool(re.search(sch.ANSWER_NUMBER_TEXT, text)) == readable


# ---------------------------------------------------------------------------
# Files: what the loaders accept, the schemas accept


def test_there_are_files_to_check() -> None:
    assert len(PROBLEM_FILES) >= 3
    assert len([p for p in DATA_FILES if not is_problem_file(p)]) >= 20


@pytest.mark.parametrize(
    "path", PROBLEM_FILES + [p for p in DATA_FILES if is_problem_file(p)], ids=rel
)
def test_problem_files_validate(path: Path) -> None:
    load_problem(path)  # every problem file in the repository is a good one
    assert schema_errors("problem", read(path)) == []


_GRADERS: dict[Path, Any] = {}  # problem file → its Grader, built once


def verdict(problem: Path, written: str, raw: Any) -> set[str]:
    """The grader's verdicts on a sheet holding this one answer (other quantities: missing)."""
    from nncalc.grading import Grader

    if problem not in _GRADERS:
        _GRADERS[problem] = Grader(load_problem(problem))
    sheet = AnswerSheet("t.yaml", "t", problem, [Answer(written, raw)])
    return {item.verdict for item in _GRADERS[problem].grade(sheet).items} - {"missing"}


ANSWER_FILES = [p for p in DATA_FILES if not is_problem_file(p)]


@pytest.mark.parametrize("path", ANSWER_FILES, ids=rel)
def test_answers_files_validate(path: Path) -> None:
    """Accepted by load_answers ⇒ accepted by the schema, but for values that are not
    numbers: the schema flags those in the editor, the grader marks them invalid."""
    try:
        sheet = load_answers(path)
    except NncalcError:
        pytest.skip("refused by the loader (an intentionally malformed file)")
    assert sheet.problem is not None
    data = read(path)
    for error in schema_errors("answers", data):
        where = list(error.absolute_path)
        assert len(where) >= 2 and where[0] == "answers", error.message
        assert verdict(sheet.problem, where[1], data["answers"][where[1]]) == {"invalid"}


def test_answers_file_with_non_numbers() -> None:
    """invalid_entries.yaml: the schema flags exactly its boolean and its non-number text."""
    data = read(ROOT / "tests" / "data" / "a4" / "invalid_entries.yaml")
    flagged = {error.absolute_path[1] for error in schema_errors("answers", data)}
    assert flagged == {"b2'", "db2"}


@pytest.mark.parametrize("name", ["malformed_unknown_key", "malformed_top_level_list"])
def test_malformed_answers_files_are_refused_by_both(name: str) -> None:
    path = ROOT / "tests" / "data" / "a4" / f"{name}.yaml"
    with pytest.raises(NncalcError):
        load_answers(path)
    assert not schema_accepts("answers", read(path))


@pytest.mark.parametrize("student", [None, "s1234567"])
def test_answer_template_validates(student: str | None) -> None:
    for path in PROBLEM_FILES:
        text = answer_template(load_problem(path), f"../problems/{path.name}", student)
        assert schema_errors("answers", yaml.safe_load(text)) == []


# ---------------------------------------------------------------------------
# Problems refused by both, and accepted by both

DROP = object()


def changed(doc: Any, path: tuple[Any, ...], value: Any = DROP) -> Any:
    """A copy of doc with the value at path replaced (or dropped, or added)."""
    result = copy.deepcopy(doc)
    parent = result
    for key in path[:-1]:
        parent = parent[key]
    if value is DROP:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return result


def no_params(doc: Any) -> Any:
    return changed(doc, ("parameters",))


INVALID = {
    "unknown top-level key": changed(A4, ("learning_rat",), 0.1),
    "unknown network key": changed(A4, ("network", "inputs"), 4),
    "unknown layer key": changed(A4, ("network", "layers", 0, "dropout"), 0.5),
    "unknown grading key": changed(A4, ("grading", "point"), {"Z1": 1}),
    "unknown tolerance key": changed(A4, ("grading", "tolerance"), {"decimal": 3}),
    "unknown init key": changed(XOR, ("init", "sd"), 1),
    "not a mapping": [A4],
    "wrong loss name": changed(A4, ("loss",), "crossentropy"),
    "loss null": changed(A4, ("loss",), None),
    "bad reduction": changed(A4, ("reduction",), "average"),
    "negative learning rate": changed(A4, ("learning_rate",), -0.1),
    "negative learning rate as text": changed(A4, ("learning_rate",), "-1e-3"),
    "learning rate not a number": changed(A4, ("learning_rate",), "fast"),
    "learning rate true": changed(A4, ("learning_rate",), True),
    "learning rate null": changed(A4, ("learning_rate",), None),
    "missing learning rate": changed(A4, ("learning_rate",)),
    "missing x": changed(A4, ("x",)),
    "missing y": changed(A4, ("y",)),
    "missing network": changed(A4, ("network",)),
    "missing loss": changed(A4, ("loss",)),
    "name not text": changed(A4, ("name",), 5),
    "input 0": changed(A4, ("network", "input"), 0),
    "units 0": changed(A4, ("network", "layers", 0, "units"), 0),
    "units 1.5": changed(A4, ("network", "layers", 0, "units"), 1.5),
    "units as text": changed(A4, ("network", "layers", 0, "units"), "3"),
    "no layers": changed(A4, ("network", "layers"), []),
    "missing activation": changed(A4, ("network", "layers", 0, "activation")),
    "empty activation": changed(A4, ("network", "layers", 0, "activation"), "  "),
    "activation not text": changed(A4, ("network", "layers", 0, "activation"), 3),
    "bias as text": changed(A4, ("network", "layers", 0, "bias"), "yes"),
    "parameters missing and no init": no_params(A4),
    "parameters not a mapping": changed(A4, ("parameters",), ["W1"]),
    "parameter c1": changed(A4, ("parameters", "c1"), [0.1]),
    "W1 a flat list": changed(A4, ("parameters", "W1"), [0.1] * 12),
    "b1 a number": changed(A4, ("parameters", "b1"), 0.1),
    "x not a list": changed(A4, ("x",), "1 -1 0.5 2"),
    "x empty": changed(A4, ("x",), []),
    "y null": changed(A4, ("y",), None),
    "frozen c1": changed(CLASSIC, ("frozen",), ["c1"]),
    "frozen not a list": changed(CLASSIC, ("frozen",), "b1"),
    "frozen null": changed(CLASSIC, ("frozen",), None),
    "init.scale 0": changed(XOR, ("init", "scale"), 0),
    "init.scale negative text": changed(XOR, ("init", "scale"), "-0.5"),
    "init.scale zero text": changed(XOR, ("init", "scale"), "0.0"),
    "init.seed negative": changed(XOR, ("init", "seed"), -1),
    "init.seed as text": changed(XOR, ("init", "seed"), "4023"),
    "init without seed": changed(XOR, ("init", "seed")),
    "init.distribution gaussian": changed(XOR, ("init", "distribution"), "gaussian"),
    "init.decimals 16": changed(XOR, ("init", "decimals"), 16),
    "init.decimals 1.5": changed(XOR, ("init", "decimals"), 1.5),
    "init not a mapping": changed(XOR, ("init",), 4023),
    "tolerance with two modes": changed(
        A4, ("grading", "tolerance"), {"decimals": 3, "sigfigs": 3}
    ),
    "tolerance decimals and rtol": changed(
        A4, ("grading", "tolerance"), {"decimals": 3, "rtol": 0.1}
    ),
    "tolerance empty": changed(A4, ("grading", "tolerance"), {}),
    "tolerance decimals 13": changed(A4, ("grading", "tolerance"), {"decimals": 13}),
    "tolerance sigfigs 0": changed(A4, ("grading", "tolerance"), {"sigfigs": 0}),
    "tolerance negative rtol": changed(A4, ("grading", "tolerance"), {"rtol": -0.1}),
    "partial elementwise": changed(A4, ("grading", "partial"), "elementwise"),
    "partial null": changed(A4, ("grading", "partial"), None),
    "follow_through 1.5": changed(A4, ("grading", "follow_through"), 1.5),
    "follow_through as words": changed(A4, ("grading", "follow_through"), "yes"),
    "negative points": changed(A4, ("grading", "points", "Z1"), -1),
    "negative points as text": changed(A4, ("grading", "points", "Z1"), "-0.5"),
    "points not a mapping": changed(A4, ("grading", "points"), ["Z1"]),
    "grading null": changed(A4, ("grading",), None),
    # layers
    "conv2d without kernel": changed(CONV, ("network", "layers", 0, "kernel")),
    "conv2d without channels": changed(CONV, ("network", "layers", 0, "channels")),
    "conv2d without type": changed(CONV, ("network", "layers", 0, "type")),
    "conv2d kernel 0": changed(CONV, ("network", "layers", 0, "kernel"), 0),
    "conv2d kernel of three sizes": changed(CONV, ("network", "layers", 0, "kernel"), [2, 2, 2]),
    "conv2d kernel as text": changed(CONV, ("network", "layers", 0, "kernel"), "2"),
    "conv2d stride 0": changed(CONV, ("network", "layers", 0, "stride"), 0),
    "conv2d padding -1": changed(CONV, ("network", "layers", 0, "padding"), -1),
    "conv2d with units": changed(CONV, ("network", "layers", 0, "units"), 3),
    "conv2d softmax": changed(CONV, ("network", "layers", 0, "activation"), " softmax"),
    "conv2d activation null": changed(CONV, ("network", "layers", 0, "activation"), None),
    "pooling without kernel": changed(CONV, ("network", "layers", 1, "kernel")),
    "pooling with activation": changed(CONV, ("network", "layers", 1, "activation"), "relu"),
    "pooling with channels": changed(CONV, ("network", "layers", 1, "channels"), 1),
    "flatten with units": changed(CONV, ("network", "layers", 2, "units"), 4),
    "dense with kernel": changed(CONV, ("network", "layers", 3, "kernel"), 2),
    "unknown layer type": changed(CONV, ("network", "layers", 0, "type"), "conv3d"),
    "layer type null": changed(A4, ("network", "layers", 0, "type"), None),
    "input of two sizes": changed(CONV, ("network", "input"), [4, 4]),
    "input of four sizes": changed(CONV, ("network", "input"), [1, 1, 4, 4]),
    "input 0 channels": changed(CONV, ("network", "input"), [0, 4, 4]),
    "input as text": changed(CONV, ("network", "input"), "[1, 4, 4]"),
    "rnn without units": changed(RNN, ("network", "layers", 0, "units")),
    "rnn output all": changed(RNN, ("network", "layers", 0, "output"), "all"),
    "rnn output null": changed(RNN, ("network", "layers", 0, "output"), None),
    "rnn softmax": changed(RNN, ("network", "layers", 0, "activation"), "softmax"),
    "rnn with kernel": changed(RNN, ("network", "layers", 0, "kernel"), 2),
    "rnn h0 as text": changed(RNN, ("network", "layers", 0, "h0"), "0 0"),
    "rnn h0 a number": changed(RNN, ("network", "layers", 0, "h0"), 0.5),
    # optimizers
    "unknown optimizer": changed(RNN, ("optimizer",), "adagrad"),
    "unknown optimizer name": changed(CONV, ("optimizer", "name"), "adagrad"),
    "optimizer name null": changed(CONV, ("optimizer", "name"), None),
    "optimizer null": changed(RNN, ("optimizer",), None),
    "optimizer a list": changed(RNN, ("optimizer",), ["momentum"]),
    "optimizer in capitals": changed(RNN, ("optimizer",), "Adam"),
    "beta1 as text": changed(CONV, ("optimizer", "beta1"), "high"),
    "beta1 true": changed(CONV, ("optimizer", "beta1"), True),
    "beta1 1": changed(CONV, ("optimizer", "beta1"), 1),
    "beta1 negative": changed(CONV, ("optimizer", "beta1"), -0.1),
    "beta1 negative as text": changed(CONV, ("optimizer", "beta1"), "-0.1"),
    "epsilon 0": changed(CONV, ("optimizer", "epsilon"), 0),
    "epsilon zero as text": changed(CONV, ("optimizer", "epsilon"), "0e0"),
    "momentum for adam": changed(CONV, ("optimizer", "momentum"), 0.9),
    "rho for momentum": changed(RNN, ("optimizer",), {"name": "momentum", "rho": 0.9}),
    "a setting without a name": changed(RNN, ("optimizer",), {"momentum": 0.9}),
    "unknown optimizer key": changed(CONV, ("optimizer", "lr"), 0.1),
    "step 0": changed(CONV, ("optimizer", "step"), 0),
    "step 1.5": changed(CONV, ("optimizer", "step"), 1.5),
    "step as text": changed(CONV, ("optimizer", "step"), "2"),
    "state null": changed(CONV, ("optimizer", "state"), None),
    "state a list": changed(CONV, ("optimizer", "state"), [[0, 0], [0, 0]]),
    "velocity in adam's state": changed(
        CONV, ("optimizer", "state"), {"velocity_W1": [[0, 0], [0, 0]]}
    ),
    "m_hat in the state": changed(CONV, ("optimizer", "state"), {"m_hat_W1": [[0, 0], [0, 0]]}),
    "state of an unknown parameter": changed(CONV, ("optimizer", "state"), {"m_c1": [0]}),
    "state a number": changed(CONV, ("optimizer", "state"), {"m_b1": 0.5}),
    "state as words": changed(CONV, ("optimizer", "state"), {"m_b1": ["zero"]}),
    "state for sgd": changed(CONV, ("optimizer",), {"state": {"m_b1": [0]}}),
    # parameters, x and y of the new kinds of problem
    "parameter Wz1": changed(RNN, ("parameters", "Wz1"), [[1.0]]),
    "parameter Wxh1": changed(RNN, ("parameters", "Wxh1"), [[1.0]]),
    "Wx1 a flat list": changed(RNN, ("parameters", "Wx1"), [0.5, -0.3, 0.2, 0.4]),
    "Wh1 a number": changed(RNN, ("parameters", "Wh1"), 0.5),
    "conv W1 a flat list": changed(CONV, ("parameters", "W1"), [1, 0, 0, -1]),
    "conv W1 of five dimensions": changed(CONV, ("parameters", "W1"), [[[[[1, 0], [0, -1]]]]]),
    "conv W1 with words": changed(CONV, ("parameters", "W1"), [[1, 0], [0, "minus one"]]),
    "frozen Wz1": changed(RNN, ("frozen",), ["Wz1"]),
    "image with an empty row": changed(CONV, ("x", 2), []),
    "image with a word": changed(CONV, ("x", 0, 0), "one"),
    "image with a boolean": changed(CONV, ("x", 0, 0), True),
    "image null": changed(CONV, ("x",), None),
    "sequence with a null": changed(RNN, ("x", 1, 0), None),
    "sequence targets null": changed(RNN, ("y",), None),
}


@pytest.mark.parametrize("doc", INVALID.values(), ids=INVALID.keys())
def test_invalid_problems_are_refused_by_both(doc: Any) -> None:
    assert not loader_accepts(doc)
    assert not schema_accepts("problem", doc)


VALID = {
    "learning rate as text": changed(A4, ("learning_rate",), "1e-3"),
    "learning rate -0": changed(A4, ("learning_rate",), "-0"),
    "learning rate 0": changed(A4, ("learning_rate",), 0),
    "whole float units": changed(A4, ("network", "layers", 0, "units"), 3.0),
    "name null": changed(A4, ("name",), None),
    "no name": changed(A4, ("name",)),
    "bias column": changed(A4, ("parameters", "b1"), [[0.1], [-0.1], [0.05]]),
    "numbers as text": changed(A4, ("x",), ["1", "-1", ".5", "2e0"]),
    "y as a column": changed(A4, ("y",), [[1], [0]]),
    "batch": changed(A4, ("x",), [[1, -1, 0.5, 2], [0, 0, 0, 1]]) | {"y": [[1, 0], [0, 1]]},
    "no bias": changed(
        changed(CLASSIC, ("network", "layers", 1, "bias"), False), ("parameters", "b2")
    )
    | {"frozen": ["b1"]},
    "frozen twice": changed(CLASSIC, ("frozen",), ["b1", "b1"]),
    "reduction sum": changed(A4, ("reduction",), "sum"),
    "parameters null with init": changed(XOR, ("parameters",), None),
    "init and some parameters": changed(XOR, ("parameters",), {"b2": [0.5]}),
    "init.scale as text": changed(XOR, ("init", "scale"), "1e-1"),
    "init.decimals null": changed(XOR, ("init", "decimals"), None),
    "init normal": changed(XOR, ("init", "distribution"), "normal"),
    "targets as numbers and lists": changed(XOR, ("y",), [0, [1], [[1]], "0"]),
    "tolerance rtol": changed(A4, ("grading", "tolerance"), {"rtol": 0.01}),
    "tolerance atol as text": changed(A4, ("grading", "tolerance"), {"atol": "1e-6"}),
    "tolerance sigfigs": changed(A4, ("grading", "tolerance"), {"sigfigs": 3}),
    "partial element": changed(A4, ("grading", "partial"), "element"),
    "follow_through fraction": changed(A4, ("grading", "follow_through"), 0.5),
    "follow_through as text": changed(A4, ("grading", "follow_through"), "0.5"),
    "follow_through false": changed(A4, ("grading", "follow_through"), False),
    "points empty": changed(A4, ("grading", "points"), {}),
    "points by alias as text": changed(A4, ("grading", "points"), {"W1'": "0.5", "δ1": 1}),
    "grading empty": changed(A4, ("grading",), {}),
    "custom activation": changed(A4, ("network", "layers", 0, "activation"), "x**2/2 - 3*tanh(x)"),
    # conv2d, pooling, flatten
    "conv2d problem": CONV,
    "dense layer with its type": changed(CONV, ("network", "layers", 3, "type"), "dense"),
    "conv2d with every key": changed(
        CONV,
        ("network", "layers", 0),
        {
            **dict.fromkeys(["type"], "conv2d"),
            **{"channels": 1, "in_channels": 1, "kernel": [2, 2], "stride": 1, "padding": 0},
            **{"activation": "relu(x) + sin(x)", "bias": True},
        },
    ),
    "conv2d default activation": changed(CONV, ("network", "layers", 0, "activation")),
    "conv2d kernel whole float": changed(CONV, ("network", "layers", 0, "kernel"), 2.0),
    "conv2d without bias": changed(
        changed(CONV, ("network", "layers", 0, "bias"), False), ("parameters", "b1")
    ),
    "avgpool2d": changed(CONV, ("network", "layers", 1, "type"), "avgpool2d"),
    "pooling with every key": changed(
        CONV,
        ("network", "layers", 1),
        {"type": "maxpool2d", "kernel": [2, 2], "stride": 1, "padding": 0},
    ),
    "input as whole floats": changed(CONV, ("network", "input"), [1.0, 4.0, 4.0]),
    "conv W1 of four dimensions": changed(CONV, ("parameters", "W1"), [[[[1, 0], [0, -1]]]]),
    "conv W1 of three dimensions": changed(  # one output channel, two input channels
        changed(CONV, ("network", "input"), [2, 4, 4]),
        ("parameters", "W1"),
        [[[1, 0], [0, -1]], [[0, 1], [1, 0]]],
    )
    | {"x": [CONV["x"], CONV["x"]]},
    "conv W1 as text": changed(CONV, ("parameters", "W1"), [["1", "0"], ["0", "-1e0"]]),
    "image with its channel axis": changed(CONV, ("x",), [CONV["x"]]),
    "image as text": changed(CONV, ("x", 0, 0), "1e0"),
    "batch of images": changed(CONV, ("x",), [CONV["x"]] * 2) | {"y": [[1, 0], [0, 1]]},
    "batch of images with channel axes": changed(CONV, ("x",), [[CONV["x"]]] * 2)
    | {"y": [[1, 0], [[0], [1]]]},
    "conv2d init": changed(CONV, ("parameters",)) | {"init": {"seed": 1}},
    # rnn
    "rnn problem": RNN,
    "rnn with every key": changed(
        RNN,
        ("network", "layers", 0),
        {"type": "rnn", "units": 2, "activation": "relu", "bias": True, "output": "every"}
        | {"h0": [0.1, "-0.1"]},
    ),
    "rnn h0 null": changed(RNN, ("network", "layers", 0, "h0"), None),
    "rnn h0 column": changed(RNN, ("network", "layers", 0, "h0"), [[0.1], [0.2]]),
    "rnn output last": changed(RNN, ("network", "layers", 0, "output"), "last") | {"y": [0.5]},
    "rnn batch of sequences": changed(RNN, ("x",), [RNN["x"]] * 2) | {"y": [RNN["y"]] * 2},
    "rnn targets as lists": changed(RNN, ("y",), [[0.5], [[-0.2]], "0.1"]),
    "rnn batch of a sequence of columns": changed(
        RNN, ("x",), [[[[1], [0]], [[0], [1]], [[1], ["1"]]]]
    )
    | {"y": [RNN["y"]]},
    "rnn one input per step": changed(
        changed(changed(RNN, ("network", "input"), 1), ("parameters", "Wx1"), [[0.5], [0.2]]),
        ("x",),
        [1, 0, 1],
    ),
    "rnn parameters as text": changed(RNN, ("parameters", "Wh1"), [["0.1", "2e-1"], [-0.2, 0.3]]),
    "frozen Wx1 and Wh1": changed(RNN, ("frozen",), ["Wx1", "Wh1"]),
    "rnn init": changed(RNN, ("parameters",)) | {"init": {"seed": 1, "scale": 0.1}},
    # optimizers
    **{
        f"optimizer {name}": changed(A4, ("optimizer",), name)
        for name in ("sgd", "momentum", "nesterov", "rmsprop", "adam")
    },
    "optimizer empty mapping": changed(A4, ("optimizer",), {}),
    "sgd as a mapping": changed(A4, ("optimizer",), {"name": "sgd", "step": 3, "state": {}}),
    "adam with everything": changed(
        CONV,
        ("optimizer",),
        {"name": "adam", "beta1": "0.9", "beta2": 0.999, "epsilon": "1e-8", "step": 3.0}
        | {"state": {"m_W1": [[0, 0], [0, 0]], "v_W1": [[[[0, 0], [0, 1e-4]]]], "v_b4": [0, 0]}},
    ),
    "beta1 0": changed(CONV, ("optimizer", "beta1"), 0),
    "beta1 -0 as text": changed(CONV, ("optimizer", "beta1"), "-0"),
    "epsilon as text": changed(CONV, ("optimizer", "epsilon"), "1e-6"),
    "rmsprop with settings": changed(
        A4, ("optimizer",), {"name": "rmsprop", "rho": 0.5, "epsilon": 1e-6}
    )
    | {"frozen": ["b1"]},
    "momentum with state": changed(
        RNN,
        ("optimizer",),
        {"name": "momentum", "momentum": 0.5, "step": 2}
        | {"state": {"velocity_Wx1": [[0.1, 0], [0, "0"]], "velocity_b1": [0, 0]}},
    ),
    "nesterov momentum 0": changed(RNN, ("optimizer",), {"name": "nesterov", "momentum": 0}),
}


@pytest.mark.parametrize("doc", VALID.values(), ids=VALID.keys())
def test_valid_problems_are_accepted_by_both(doc: Any) -> None:
    assert loader_accepts(doc)
    assert schema_errors("problem", doc) == []


@pytest.mark.parametrize("doc", [CONV, RNN], ids=["conv2d", "rnn"])
def test_conv_and_rnn_problems_validate(doc: Any) -> None:
    problem = problem_from_dict(doc)
    assert problem.layers[0].kind in ("conv2d", "rnn")
    assert problem.optimizer.name in ("adam", "momentum")
    assert schema_errors("problem", doc) == []


# ---------------------------------------------------------------------------
# Random mutations: what the schema refuses, the loader refuses


def nodes(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, doc
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from nodes(value, (*path, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from nodes(value, (*path, i))


_WORDS = "abc 1e-3 -1e-3 0 -0 +2 .5 1. 3 softmax relu mean sum mse uniform normal none element"
_WORDS += " W1 b1 b2 c1 Z1 decimals W4 Wx1 Wh1 sgd adam momentum rnn conv2d avgpool2d flatten"
_WORDS += " dense every last m_W1 v_b1 velocity_Wx1 beta1 epsilon"
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 20),
    st.sampled_from([0.5, -0.5, 1.5, 3.0, 0.0, 1e9, float("inf"), float("nan")]),
    st.sampled_from(["", " ", "sigmoid(x)*x", "x +", *_WORDS.split()]),
)
_VALUES = st.one_of(
    _SCALARS,
    st.lists(_SCALARS, max_size=4),
    st.lists(st.lists(st.integers(-1, 3), max_size=4), max_size=4),
    st.dictionaries(
        st.sampled_from(
            [
                *("seed", "scale", "decimals", "rtol", "atol", "sigfigs", "Z1", "W1"),
                *("name", "beta1", "epsilon", "momentum", "step", "m_W1", "velocity_b1", "type"),
            ]
        ),
        _SCALARS,
        max_size=3,
    ),
)
_KEYS = st.one_of(
    st.sampled_from(["extra", "Name", "init", "seed", "units", "bias", "W3", "b0", "W01", "rtol"]),
    # the new keys; not h0, which the loader reads as zeros when false, 0, "" (see schema.py)
    st.sampled_from(["type", "kernel", "stride", "padding", "channels", "in_channels", "output"]),
    st.sampled_from(["optimizer", "name", "beta1", "rho", "epsilon", "step", "state", "Wx1"]),
    st.text(min_size=1, max_size=5),
)


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from([A4, XOR, CLASSIC, CONV, RNN])))
    for _ in range(draw(st.integers(1, 3))):
        places = list(nodes(doc))
        kind = draw(st.sampled_from(["drop", "replace", "add"]))
        if kind == "add":
            mappings = [node for _, node in places if isinstance(node, dict)]
            if mappings:
                draw(st.sampled_from(mappings))[draw(_KEYS)] = draw(_VALUES)
            continue
        inner = [(path, node) for path, node in places if path]
        if not inner:
            break
        path, _ = draw(st.sampled_from(inner))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if kind == "replace":
            parent[path[-1]] = draw(_VALUES)
        else:
            del parent[path[-1]]
    return doc


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_schema_refuses_only_what_the_loader_refuses(doc: Any) -> None:
    accepted = loader_accepts(doc)  # never raises anything but NncalcError
    if not schema_accepts("problem", doc):
        assert not accepted


_ANSWER_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(),
    st.text(alphabet="0123456789.eE+-− \tx", max_size=8),
    st.dictionaries(st.just("value"), st.integers(), max_size=1),
)


@settings(max_examples=300, deadline=None)
@given(st.recursive(_ANSWER_SCALARS, lambda inner: st.lists(inner, max_size=4), max_leaves=10))
def test_answer_values_the_schema_refuses_are_invalid(raw: Any) -> None:
    """An answer the editor flags is one the grader marks invalid (0 points)."""
    document = {"problem": "a4.yaml", "answers": {"Z1": raw}}
    if not schema_accepts("answers", document):
        assert verdict(ROOT / "problems" / "a4.yaml", "Z1", raw) == {"invalid"}


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.floats(-10, 10),
            st.floats(-10, 10).map(lambda v: f"{v:.4f}".replace("-", "−")),
        ),
        min_size=3,
        max_size=3,
    )
)
def test_answer_values_the_grader_reads_are_accepted(raw: list[Any]) -> None:
    document = {"problem": "a4.yaml", "student": 7, "answers": {"Z1": raw, "dW1": [raw] * 4}}
    assert schema_errors("answers", document) == []
    assert verdict(ROOT / "problems" / "a4.yaml", "Z1", raw) != {"invalid"}


# ---------------------------------------------------------------------------
# Where the loaders accept more than the schema (reported; the schema is right)


def test_loader_refuses_non_ascii_digits() -> None:
    assert not loader_accepts(changed(A4, ("learning_rate",), "０.１"))


@pytest.mark.parametrize("text", ["1_350", "١.٣٥", "１.３５"])
def test_grader_refuses_python_only_number_spellings(text: str) -> None:
    raw = [text, 0.35, 0.6]
    assert not schema_accepts("answers", {"answers": {"Z1": raw}})
    assert verdict(ROOT / "problems" / "a4.yaml", "Z1", raw) == {"invalid"}


def test_the_schema_beside_the_example_problems_is_current() -> None:
    """problems/*.yaml name problem.schema.json for editors; it must be what nncalc prints."""
    committed = (ROOT / "problems" / "problem.schema.json").read_text()
    assert committed == sch.schema_json("problem")
    for path in sorted((ROOT / "problems").glob("*.yaml")):
        first = path.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=problem.schema.json", path.name


def test_schema_command_prints_the_schema(runner: CliRunner) -> None:
    result = runner.invoke(app, ["schema", "answers"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == sch.answers_schema()
    bad = runner.invoke(app, ["schema", "grades"])
    assert bad.exit_code == 2
