"""The files shipline copies into the project's pytest run on the project's interpreter, which may
be older than shipline's own: vermin holds them to Python 3.8, as sharding.py's docstring
promises. It reads the syntax and the standard library's modules and names a file uses (and the
methods of literals); a method called on a variable of unknown type is beyond it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from shipline.testmatrix import pytest_runner

VERMIN = Path(sys.executable).with_name("vermin")
# Annotations are not evaluated (the files use `from __future__ import annotations`): without
# --eval-annotations, `dict[str, Any]` in one is no violation, as it is none at run time.
OLDEST = ["--no-tips", "--violations", "--target=3.8-"]


def vermin(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VERMIN), *OLDEST, *map(str, files)], capture_output=True, text=True, check=False
    )


def test_the_files_run_in_the_project_s_pytest_need_no_python_newer_than_3_8() -> None:
    checked = vermin(pytest_runner._PLUGIN, pytest_runner._SHARDING)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_python_3_9_name_in_such_a_file_is_found(tmp_path: Path) -> None:
    newer = tmp_path / "newer.py"
    newer.write_text("import functools\n\n\n@functools.cache\ndef seconds():\n    return {}\n")
    checked = vermin(newer)
    assert checked.returncode != 0
    assert "'functools.cache' member requires !2, 3.9" in checked.stdout
