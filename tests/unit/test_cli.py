from __future__ import annotations

import subprocess
import sys

import pytest

from shipline import cli
from shipline.errors import FileLineError


def test_help_lists_every_action(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0
    assert "lint" in capsys.readouterr().out


def test_action_help_lists_its_inputs_with_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["lint", "--help"])
    out = capsys.readouterr().out
    assert "--fail-on VALUE" in out
    assert "INPUT_<NAME>" in out


def test_unknown_action_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["deploy-everything"])
    assert done.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_python_dash_m_and_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shipline", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().startswith("shipline ")


def test_a_crash_blocks_with_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def explode(_: object) -> int:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli, "load_runner", lambda name: explode)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert cli.main(["lint"]) == 1
    assert (
        "::error title=shipline lint::internal error: ZeroDivisionError: division by zero"
        in capsys.readouterr().out
    )


def test_an_error_that_quotes_a_megabyte_is_cut_to_a_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # a YAML key or a value jsonschema repeats can be a whole input file
    def refuse(_: object) -> int:
        raise FileLineError("reg.yml", 3, "key '" + "k" * 1_000_000 + "' is given twice")

    monkeypatch.setattr(cli, "load_runner", lambda name: refuse)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert cli.main(["lint"]) == 2
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(
        "::error title=shipline lint,file=reg.yml,line=3::file reg.yml:3: key 'kkk"
    )
    assert line.endswith("k…") and len(line) < cli.MESSAGE_CHARS + 100


def test_a_positional_mode_is_the_same_as_the_option(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(
        cli, "run_action", lambda name, inputs: seen.append(inputs.raw("mode")) or 0
    )
    assert cli.main(["test-matrix", "plan"]) == 0
    assert cli.main(["test-matrix", "--mode", "merge"]) == 0
    assert cli.main(["sign", "verify"]) == 0
    assert seen == ["plan", "merge", "verify"]


def test_a_mode_given_twice_differently_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["test-matrix", "plan", "--mode", "run"])
    assert done.value.code == 2
    assert "mode given twice" in capsys.readouterr().err


def test_an_option_given_exactly_two_dashes_keeps_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # argparse drops a value that is exactly "--" and hands back an empty list
    seen: list[str] = []
    monkeypatch.setattr(
        cli, "run_action", lambda name, inputs: seen.append(inputs.raw("args")) or 0
    )
    assert cli.main(["test-matrix", "plan", "--args=--"]) == 0
    assert cli.main(["test-matrix", "plan", "--args=-x"]) == 0
    assert seen == ["--", "-x"]
