from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner

# Hypothesis profiles (docs/fuzzing.md). "ci" is loaded unless --hypothesis-profile names
# another: the property tests keep their own example counts (Hypothesis' 100 when they set
# none) and tests/test_fuzz.py runs at least 2,000 examples per entry point. "ci" is
# derandomized: every run tries the same examples, so a change cannot pass one run and fail
# the next. "explore" draws new examples each run, and "fuzz-long" draws 100,000 per entry
# point; use them to look for new failures, for tests/test_fuzz.py only:
#   python -m pytest tests/test_fuzz.py --hypothesis-profile=fuzz-long
settings.register_profile(
    "ci", settings.get_profile("default"), deadline=None, print_blob=True, derandomize=True
)
settings.register_profile("explore", settings.get_profile("ci"), derandomize=False)
settings.register_profile("fuzz-long", settings.get_profile("explore"), max_examples=100_000)
settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "problems" / "a4.yaml"

#: The course's derivations (issue 13) as its worked solution writes them, in plain text:
#: the 10 equation points of problems/a4.yaml. A sheet meant to earn full marks writes them.
COURSE_EQUATIONS = {
    "Z1": "W1 x + b1",
    "Z2": "W2 H + b2",
    "y_hat": "softmax(Z2)",
    "delta2": "y_hat - y",
    "dW2": "delta2 H^T",
    "db2": "delta2",
    "delta1": "(W2^T delta2) ⊙ f'(Z1)",
    "f'(x)": "1 + cos(x) if x > 0 else cos(x)",
    "dW1": "delta1 x^T",
    "db1": "delta1",
}


@pytest.fixture(autouse=True)
def stable_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin Rich's width and colours so output tests do not depend on the terminal."""
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.setenv("LINES", "50")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def a4() -> Path:
    return A4
