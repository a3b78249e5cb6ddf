"""Adapters: run one linter on a project and turn its machine-readable report into Findings.

Every adapter reads the tool's report, not its exit code: an exit code that says
"findings" with a report that has none is treated as a broken run.
"""

from __future__ import annotations

import configparser
import json
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from shipline.errors import ToolFailedError
from shipline.findings import Finding, Level, Location
from shipline.paths import workspace_relative
from shipline.sarif import SarifError, read_findings
from shipline.tools import ToolResult, find_tool, run_tool

INSTALL_HINT = "it ships with shipline's lint extra: pip install 'shipline[lint]'"
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache"}


@dataclass(frozen=True)
class Target:
    """Where a linter runs: the project directory inside the workspace."""

    project: Path
    workspace: Path
    timeout: float

    def location(self, path: str, **region: int | None) -> Location:
        return Location(workspace_relative(path, self.workspace, self.project), **region)


def _json(result: ToolResult, tool: str) -> Any:
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        raise ToolFailedError(
            f"{tool} printed a report that is not JSON: {result.tail()}"
        ) from None


def _require_findings_if_failed(result: ToolResult, findings: Sequence[Finding], tool: str) -> None:
    if result.returncode != 0 and not findings:
        raise ToolFailedError(
            f"{tool} exited {result.returncode} but reported no findings: {result.tail()}"
        )


def _ruff_findings(report: Any, target: Target, tool: str) -> list[Finding]:
    if not isinstance(report, list):
        raise ToolFailedError(f"{tool} report is not a list of violations")
    findings = []
    for item in report:
        start, end = item.get("location") or {}, item.get("end_location") or {}
        findings.append(
            Finding(
                tool=tool,
                rule_id=item.get("code") or "syntax-error",
                message=item["message"],
                level=Level.ERROR,
                location=target.location(
                    item["filename"],
                    line=start.get("row"),
                    column=start.get("column"),
                    end_line=end.get("row"),
                    end_column=end.get("column"),
                ),
                help_uri=item.get("url"),
            )
        )
    return findings


def _ruff(target: Target, command: list[str], tool: str) -> list[Finding]:
    """``ruff check`` and ``ruff format --check`` share one JSON report shape."""
    ruff = find_tool("ruff", INSTALL_HINT)
    args = [ruff, *command, "--output-format", "json", "--force-exclude", "."]
    result = run_tool(args, cwd=target.project, timeout=target.timeout, ok_codes=(0, 1))
    findings = _ruff_findings(_json(result, tool), target, tool)
    _require_findings_if_failed(result, findings, tool)
    return findings


def ruff_check(target: Target) -> list[Finding]:
    return _ruff(target, ["check", "--no-fix"], "ruff")


def ruff_format(target: Target) -> list[Finding]:
    return _ruff(target, ["format", "--check"], "ruff-format")


def mypy_has_files_setting(project: Path) -> bool:
    """Whether the project's mypy configuration names what to check (else we pass ``.``)."""
    pyproject = project / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ToolFailedError(f"{pyproject} is not valid TOML: {error}") from None
        if "files" in data.get("tool", {}).get("mypy", {}):
            return True
    for name in ("mypy.ini", ".mypy.ini", "setup.cfg"):
        config = configparser.ConfigParser()
        path = project / name
        if path.is_file():
            config.read(path, encoding="utf-8")
            if config.has_option("mypy", "files"):
                return True
    return False


def default_python(project: Path) -> Path | None:
    candidate = project / ".venv" / "bin" / "python"
    return candidate if candidate.exists() else None


def mypy(target: Target, python: Path | None) -> list[Finding]:
    exe = find_tool("mypy", INSTALL_HINT)
    args = [exe, "--output", "json", "--no-pretty", "--no-error-summary"]
    interpreter = python or default_python(target.project)
    if interpreter is not None:
        args += ["--python-executable", str(interpreter)]
    if not mypy_has_files_setting(target.project):
        args.append(".")
    result = run_tool(args, cwd=target.project, timeout=target.timeout, ok_codes=(0, 1))
    findings = []
    for line in result.stdout.splitlines():
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            raise ToolFailedError(f"mypy printed a line that is not JSON: {line[:200]}") from None
        message = item["message"] + (f" ({item['hint']})" if item.get("hint") else "")
        findings.append(
            Finding(
                tool="mypy",
                rule_id=item.get("code") or "mypy",
                message=message,
                level=Level.NOTE if item.get("severity") == "note" else Level.ERROR,
                location=target.location(
                    item["file"],
                    line=_positive(item.get("line")),
                    column=_column(item.get("column")),
                    end_line=_positive(item.get("end_line")),
                    end_column=_column(item.get("end_column")),
                ),
            )
        )
    _require_findings_if_failed(result, findings, "mypy")
    return findings


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def _column(value: Any) -> int | None:
    """mypy counts columns from 0; annotations and SARIF count from 1."""
    return value + 1 if isinstance(value, int) and value >= 0 else None


def find_dockerfiles(project: Path) -> list[Path]:
    found = []
    for path in sorted(project.rglob("*")):
        if SKIP_DIRS.intersection(path.relative_to(project).parts[:-1]) or not path.is_file():
            continue
        name = path.name
        if name == "Dockerfile" or name.startswith("Dockerfile.") or name.endswith(".Dockerfile"):
            found.append(path)
    return found


_HADOLINT_LEVELS = {
    "error": Level.ERROR,
    "warning": Level.WARNING,
    "info": Level.NOTE,
    "style": Level.NOTE,
}


def hadolint(target: Target, dockerfiles: Sequence[Path]) -> list[Finding]:
    exe = find_tool("hadolint", INSTALL_HINT)
    args = [exe, "--format", "json", "--no-fail", *map(str, dockerfiles)]
    result = run_tool(args, cwd=target.project, timeout=target.timeout, ok_codes=(0, 1))
    report = _json(result, "hadolint")
    if not isinstance(report, list):
        raise ToolFailedError("hadolint report is not a list")
    findings = [
        Finding(
            tool="hadolint",
            rule_id=item["code"],
            message=item["message"],
            level=_HADOLINT_LEVELS.get(item.get("level", ""), Level.WARNING),
            location=target.location(
                item["file"], line=item.get("line"), column=item.get("column")
            ),
            help_uri=_hadolint_uri(item["code"]),
        )
        for item in report
    ]
    _require_findings_if_failed(result, findings, "hadolint")
    return findings


def _hadolint_uri(code: str) -> str | None:
    if code.startswith("DL"):
        return f"https://github.com/hadolint/hadolint/wiki/{code}"
    if code.startswith("SC"):
        return f"https://www.shellcheck.net/wiki/{code}"
    return None


def zizmor(target: Target, directory: Path) -> list[Finding]:
    exe = find_tool("zizmor", INSTALL_HINT)
    args = [exe, "--offline", "--format", "sarif", "--no-exit-codes", str(directory)]
    result = run_tool(args, cwd=target.workspace, timeout=target.timeout)
    try:
        findings = read_findings(_json(result, "zizmor"), tool="zizmor")
    except SarifError as error:
        raise ToolFailedError(f"zizmor printed SARIF we cannot read: {error}") from None
    # zizmor names files relative to the directory it was given.
    return [_rebase(f, directory, target.workspace) for f in findings]


def _rebase(finding: Finding, directory: Path, workspace: Path) -> Finding:
    loc = finding.location
    if loc is None or (workspace / loc.path).exists():
        return finding
    moved = replace(loc, path=workspace_relative(loc.path, workspace, directory))
    return replace(finding, location=moved)
