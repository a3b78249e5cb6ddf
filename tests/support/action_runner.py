"""Run ``python -m shipline <action>`` the way a runner does, and read back what it wrote."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.runner_protocol import parse_commands, parse_key_values

Command = tuple[str, dict[str, str], str]
ANNOTATION_COMMANDS = {"error", "warning", "notice"}


@dataclass(frozen=True)
class ActionRun:
    code: int
    commands: list[Command]
    outputs: dict[str, str]
    summary: str
    log: str

    @property
    def annotations(self) -> list[Command]:
        return [c for c in self.commands if c[0] in ANNOTATION_COMMANDS]

    def errors(self) -> list[str]:
        return [message for name, _, message in self.commands if name == "error"]


def run_action(
    action: str,
    workspace: Path,
    inputs: Mapping[str, str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
) -> ActionRun:
    """Inputs arrive as ``INPUT_<NAME>`` (hyphens as underscores), runner files in a temp dir."""
    with tempfile.TemporaryDirectory(prefix="runner-") as scratch:
        output, summary = Path(scratch) / "output", Path(scratch) / "summary.md"
        output.write_text("")
        summary.write_text("")
        environ = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))},
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            **{
                f"INPUT_{name.replace('-', '_').upper()}": value
                for name, value in (inputs or {}).items()
            },
            **(env or {}),
        }
        done = subprocess.run(
            # -I as scripts/bootstrap runs it: the step's directory is the workspace
            [sys.executable, "-I", "-m", "shipline", action],
            cwd=cwd or workspace,
            env=environ,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        # the runner reads commands from both streams
        commands = parse_commands(done.stdout) + parse_commands(done.stderr)
        return ActionRun(
            done.returncode,
            commands,
            parse_key_values(output),
            summary.read_text(),
            done.stdout + done.stderr,
        )
