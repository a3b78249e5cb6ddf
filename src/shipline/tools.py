"""Running external tools: found where the action's environment put them, bounded in time.

A tool that is missing, crashes or hangs raises an error that blocks the action; callers
decide from the report, never from the exit code alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shipline.errors import ToolFailedError, ToolMissingError
from shipline.gha.inputs import InputError


@dataclass(frozen=True)
class ToolResult:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def tail(self, lines: int = 5) -> str:
        """The last lines of stderr (or stdout), for an error message that explains itself."""
        text = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return " | ".join(text[-lines:]) if text else "no output"


def find_tool(name: str, install_hint: str) -> str:
    """The tool next to our interpreter first (the action's own venv), then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ToolMissingError(name, install_hint)
    return found


def find_interpreter(value: str, workspace: Path, *, input_name: str = "python") -> Path:
    """A Python interpreter named by an input: a path (relative to the workspace) or a command.

    Unlike other path inputs it may live outside the workspace (a runner's tool cache) and
    is not resolved: a virtualenv's ``bin/python`` is a symlink whose target would lose the
    environment.
    """
    if "/" not in value:
        found = shutil.which(value)
        if found is None:
            raise InputError(input_name, value, "a Python interpreter on PATH or a path to one")
        return Path(found)
    candidate = Path(value) if Path(value).is_absolute() else workspace / value
    if not (candidate.is_file() and os.access(candidate, os.X_OK)):
        raise InputError(input_name, value, "an executable Python interpreter")
    return candidate


def run_tool(
    args: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    ok_codes: Sequence[int] = (0,),
    env: Mapping[str, str] | None = None,
) -> ToolResult:
    name = Path(args[0]).name
    try:
        completed = subprocess.run(
            list(args),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=None if env is None else {**os.environ, **env},
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ToolFailedError(f"{name} did not finish within {timeout:.0f} s") from None
    except OSError as error:
        raise ToolFailedError(f"{name} could not start: {error}") from None
    result = ToolResult(tuple(args), completed.returncode, completed.stdout, completed.stderr)
    if completed.returncode not in ok_codes:
        raise ToolFailedError(
            f"{name} failed with exit code {completed.returncode}: {result.tail()}"
        )
    return result
