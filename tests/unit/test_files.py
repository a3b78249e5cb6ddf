from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest

from shipline.gha.commands import Console
from shipline.gha.files import RunnerFiles
from tests.runner_protocol import parse_key_values


def files_for(tmp_path: Path) -> tuple[RunnerFiles, dict[str, str]]:
    environ = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "GITHUB_ENV": str(tmp_path / "env"),
        "GITHUB_PATH": str(tmp_path / "path"),
        "PATH": "/usr/bin",
    }
    return RunnerFiles(Console(environ, io.StringIO()), environ), environ


def test_outputs_survive_multiline_values_and_lookalike_delimiters(tmp_path: Path) -> None:
    files, _ = files_for(tmp_path)
    tricky = "line one\nghadelimiter_x\nEOF\nname<<EOF"
    files.set_output("matrix", '{"shard": [1, 2]}')
    files.set_output("report", tricky)
    files.set_output("passed", True)
    assert parse_key_values(tmp_path / "out") == {
        "matrix": '{"shard": [1, 2]}',
        "report": tricky,
        "passed": "true",
    }


def test_a_delimiter_that_occurs_in_the_value_is_never_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = [uuid.UUID(int=1), uuid.UUID(int=2)]
    monkeypatch.setattr(uuid, "uuid4", lambda: fixed.pop(0))
    files, _ = files_for(tmp_path)
    value = f"contains ghadelimiter_{uuid.UUID(int=1)} inside"
    files.set_output("x", value)
    text = (tmp_path / "out").read_text()
    assert text.startswith(f"x<<ghadelimiter_{uuid.UUID(int=2)}\n")
    assert parse_key_values(tmp_path / "out") == {"x": value}


def test_invalid_output_names_are_refused(tmp_path: Path) -> None:
    files, _ = files_for(tmp_path)
    with pytest.raises(ValueError, match="invalid name"):
        files.set_output("bad name\n", "v")


def test_export_variable_and_add_path_update_process_and_runner(tmp_path: Path) -> None:
    files, environ = files_for(tmp_path)
    files.export_variable("SHIPLINE_IMAGE", "registry/app@sha256:abc")
    files.add_path("/opt/tool/bin")
    assert environ["SHIPLINE_IMAGE"] == "registry/app@sha256:abc"
    assert parse_key_values(tmp_path / "env") == {"SHIPLINE_IMAGE": "registry/app@sha256:abc"}
    assert environ["PATH"] == "/opt/tool/bin:/usr/bin"
    assert (tmp_path / "path").read_text() == "/opt/tool/bin\n"


def test_outside_actions_outputs_are_printed() -> None:
    out = io.StringIO()
    RunnerFiles(Console({}, out), {}).set_output("digest", "sha256:1")
    assert out.getvalue() == "output digest=sha256:1\n"
