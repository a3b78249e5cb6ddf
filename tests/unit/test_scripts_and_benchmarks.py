"""Scripts and benchmarks are not forgotten: ruff lints the suffixless ones, the README names them."""

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


def test_readme_names_every_benchmark() -> None:
    developing = (ROOT / "README.md").read_text(encoding="utf-8").split("## Developing", 1)[1]
    benchmarks = sorted(p.name for p in (ROOT / "benchmarks").iterdir() if p.is_file())
    assert "sharding" in benchmarks
    missing = [name for name in benchmarks if f"`benchmarks/{name}`" not in developing]
    assert not missing, f"README's Developing section does not name: {missing}"
