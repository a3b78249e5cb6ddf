"""Python scripts without a .py suffix are linted too: ruff only picks them up when named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def python_scripts_without_suffix() -> set[Path]:
    found = set()
    for folder in ("scripts", "benchmarks"):
        for path in (ROOT / folder).iterdir():
            if path.is_file() and not path.suffix:
                first_line = path.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0]
                if first_line.startswith("#!") and "python" in first_line:
                    found.add(path)
    return found


def test_every_suffixless_python_script_is_in_ruffs_file_list() -> None:
    scripts = python_scripts_without_suffix()
    assert ROOT / "benchmarks" / "sharding" in scripts  # the scan finds them at all
    listed = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--show-files", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    linted = {Path(line.strip()) for line in listed.splitlines() if line.strip()}
    missing = sorted(str(p.relative_to(ROOT)) for p in scripts - linted)
    assert not missing, f"add to [tool.ruff] extend-include in pyproject.toml: {missing}"
