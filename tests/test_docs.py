"""Every command and every problem key is documented, with an example."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from nncalc.cli import app
from nncalc.vocabulary import LAYER_KINDS, LOSSES, OPTIMIZERS
from nncalc.vocabulary import TOP_KEYS as _TOP_KEYS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def command_names() -> list[str]:
    return sorted(c.name or c.callback.__name__ for c in app.registered_commands if c.callback)


def test_there_are_commands() -> None:
    assert "solve" in command_names()


@pytest.mark.parametrize("command", command_names())
def test_every_command_has_help_with_an_example(command: str, runner: CliRunner) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert f"nncalc {command} " in result.stdout  # an example in the epilog
    assert f"nncalc {command}" in README


def test_top_level_help_and_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "solve" in result.stdout
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.stdout.startswith("nncalc 0.")


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_is_documented(loss: str) -> None:
    assert f"`{loss}`" in README


LAYER_KEYS = sorted(
    {f"network.layers[i].{k}" for words in LAYER_KINDS.values() for k in words.keys}
)


@pytest.mark.parametrize(
    "key", [*(k for k in _TOP_KEYS if k != "network"), "network.input", *LAYER_KEYS]
)
def test_every_problem_key_is_documented(key: str) -> None:
    assert f"| `{key}` |" in README


@pytest.mark.parametrize("name", [*LAYER_KINDS, *OPTIMIZERS])
def test_every_layer_kind_and_optimizer_is_documented(name: str) -> None:
    assert f"`{name}`" in README


def test_typer_is_only_in_the_cli() -> None:
    package = Path(__file__).resolve().parent.parent / "nncalc"
    users = sorted(p.name for p in package.glob("*.py") if "import typer" in p.read_text())
    assert users == ["cli.py"]
    assert typer  # the CLI layer's dependency is importable


def test_v_is_the_version(runner: CliRunner) -> None:
    from nncalc import __version__

    result = runner.invoke(app, ["-V"])
    assert (result.exit_code, result.stdout) == (0, f"nncalc {__version__}\n")


@pytest.mark.parametrize("command", ["solve", "verify"])
def test_format_help_shows_its_default(command: str, runner: CliRunner) -> None:
    """Rich reads "[default: …]" as markup and drops it unless it is escaped."""
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert "Output format [default: rich on a terminal, plain otherwise]." in result.stdout


def test_limit_help_names_every_limit(runner: CliRunner) -> None:
    from dataclasses import fields

    from nncalc.validate import Limits

    result = runner.invoke(app, ["solve", "--help"], env={"COLUMNS": "300"})
    names = ", ".join(f.name for f in fields(Limits))
    assert f"Raise or lower a size limit (repeatable): {names}." in result.stdout
    assert "max_steps" in names


def test_shell_completion_is_offered_and_completes() -> None:
    """--install-completion installs the script the shell's protocol prints (source_bash);
    with it, tab completes commands and options. Run as the shell runs it: a process."""
    import subprocess
    import sys

    def complete(**env: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "nncalc"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        return done.stdout

    assert "_nncalc_completion()" in complete(_NNCALC_COMPLETE="source_bash")
    words = {"solve": "nncalc so", "--format": "nncalc solve problems/a4.yaml --for"}
    for expected, line in words.items():
        cword = str(len(line.split()) - 1)
        out = complete(_NNCALC_COMPLETE="complete_bash", COMP_WORDS=line, COMP_CWORD=cword)
        assert out.split() == [expected], line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["solve"], "Missing argument 'problem'. (see 'nncalc solve --help')"),
        (
            ["solve", "problems/a4.yaml", "--nope"],
            "No such option: --nope (Possible options: --phase) (see 'nncalc solve --help')",
        ),
    ],
)
def test_usage_errors_are_one_line_like_every_other_error(args: list[str], message: str) -> None:
    """Not Typer's boxed panel: one line on stderr, exit code 2, as for a bad problem file."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-m", "nncalc", *args], capture_output=True, text=True, cwd=root
    )
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"error: {message}\n")
