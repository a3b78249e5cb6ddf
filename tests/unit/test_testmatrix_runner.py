"""The pytest adapter: live output, timeouts, and test ids that overflow a command line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shipline.errors import ToolFailedError
from shipline.testmatrix import pytest_runner
from shipline.testmatrix.pytest_runner import CommandTooLongError, stream

# 3,000 arguments of 1,000 characters: over Linux's 2 MB for a whole command line.
TOO_MANY = [f"tests/test_x.py::test[{n:04d}-" + "x" * 980 + "]" for n in range(3000)]


def test_stream_shows_lines_as_they_come_and_kills_on_timeout(tmp_path: Path) -> None:
    seen: list[str] = []
    done = stream(
        [sys.executable, "-c", "print('one'); print('two')"],
        cwd=tmp_path,
        timeout=30,
        echo=seen.append,
    )
    assert seen == ["one", "two"] and done.returncode == 0
    with pytest.raises(ToolFailedError, match=r"did not finish within 0\.5 s"):
        stream(
            [sys.executable, "-c", "import time; time.sleep(30)"],
            cwd=tmp_path,
            timeout=0.5,
            echo=seen.append,
        )


def test_a_command_line_the_system_refuses_is_reported_as_too_long(tmp_path: Path) -> None:
    with pytest.raises(CommandTooLongError, match=r"3003 arguments, \d+ bytes, are more than"):
        stream([sys.executable, "-c", "pass", *TOO_MANY], cwd=tmp_path, timeout=30, echo=print)


def test_a_pytest_without_argument_files_says_how_to_fit_a_long_shard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pytest_runner, "reads_argument_files", lambda python, directory: False)
    project = pytest_runner.Project(tmp_path, sys.executable, (), (), 60)
    with pytest.raises(
        ToolFailedError, match=r"the 3000 test ids do not fit.*pytest 8\.2 or newer"
    ):
        pytest_runner.run(project, TOO_MANY, tmp_path / "report.xml", echo=print)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("8.2.0", True),
        ("9.2.0", True),
        ("10.0.0rc1", True),
        ("8.3.0.dev12+g1a2b3c", True),
        ("8.1.2", False),
        ("7.4.4", False),
        ("", False),
        ("not a version", False),
    ],
)
def test_argument_files_need_pytest_8_2(version: str, expected: bool) -> None:
    assert pytest_runner.version_at_least(version, pytest_runner.ARGUMENT_FILES_SINCE) is expected


def test_the_interpreter_s_own_pytest_is_asked(tmp_path: Path) -> None:
    # this environment's pytest is recent; an interpreter without pytest cannot take files
    assert pytest_runner.reads_argument_files(sys.executable, tmp_path)
    bare = tmp_path / "bare"
    bare.write_text("#!/bin/sh\nexit 1\n")
    bare.chmod(0o755)
    assert not pytest_runner.reads_argument_files(str(bare), tmp_path)
