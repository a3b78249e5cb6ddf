"""Runs the enabled linters, then reports: annotations, job summary, SARIF, outputs, gate."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from shipline.context import ActionContext
from shipline.errors import ShiplineError, UsageError
from shipline.findings import Finding, Level, count_levels, sort_findings
from shipline.gha.summary import Summary, code_span
from shipline.lint import tools
from shipline.sarif import write_log
from shipline.tools import find_interpreter

SUMMARY_ROWS = 50


class FailOn(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NEVER = "never"


class Toggle(StrEnum):
    TRUE = "true"
    FALSE = "false"
    AUTO = "auto"


@dataclass
class ToolRun:
    name: str
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    error: ShiplineError | None = None


@dataclass(frozen=True)
class LintPlan:
    """Every input, parsed and checked before any tool runs, so bad input does nothing."""

    target: tools.Target
    checks: list[tuple[str, Callable[[], list[Finding]]]]
    fail_on: FailOn
    sarif: Path | None


def plan(context: ActionContext) -> LintPlan:
    inputs = context.inputs
    project = inputs.path("path", must_exist=True)
    if not project.is_dir():
        raise UsageError(f"input 'path' got '{inputs.raw('path')}': expected a directory")
    target = tools.Target(project, inputs.workspace, inputs.duration("timeout"))
    python = (
        find_interpreter(inputs.raw("python"), inputs.workspace) if inputs.raw("python") else None
    )
    checks: list[tuple[str, Callable[[], list[Finding]]]] = []
    if inputs.boolean("ruff"):
        checks.append(("ruff", lambda: tools.ruff_check(target)))
    if inputs.boolean("ruff-format"):
        checks.append(("ruff-format", lambda: tools.ruff_format(target)))
    if inputs.boolean("mypy"):
        checks.append(("mypy", lambda: tools.mypy(target, python)))
    dockerfiles = [inputs.workspace / p for p in inputs.items("dockerfiles")]
    for dockerfile in dockerfiles:
        if not dockerfile.resolve().is_relative_to(inputs.workspace) or not dockerfile.is_file():
            raise UsageError(
                f"input 'dockerfiles' got '{dockerfile}': expected files inside the workspace"
            )
    dockerfiles = dockerfiles or tools.find_dockerfiles(project)
    hadolint = inputs.choice("hadolint", Toggle)
    if hadolint is Toggle.TRUE and not dockerfiles:
        raise UsageError(f"input 'hadolint' is true but no Dockerfile was found under {project}")
    if hadolint is Toggle.TRUE or (hadolint is Toggle.AUTO and dockerfiles):
        checks.append(("hadolint", lambda: tools.hadolint(target, dockerfiles)))
    zizmor = inputs.choice("zizmor", Toggle)
    workflows = inputs.path("workflows")
    if zizmor is Toggle.TRUE and not workflows.is_dir():
        raise UsageError(f"input 'workflows' got '{inputs.raw('workflows')}': expected a directory")
    if zizmor is Toggle.TRUE or (zizmor is Toggle.AUTO and workflows.is_dir()):
        checks.append(("zizmor", lambda: tools.zizmor(target, workflows)))
    if not checks:
        raise UsageError(
            "every linter is switched off: enable at least one of ruff, ruff-format, mypy, hadolint, zizmor"
        )
    return LintPlan(target, checks, inputs.choice("fail-on", FailOn), inputs.optional_path("sarif"))


def blocks(level: Level, fail_on: FailOn) -> bool:
    if fail_on is FailOn.NEVER:
        return False
    threshold = Level.ERROR if fail_on is FailOn.ERROR else Level.WARNING
    return level.rank >= threshold.rank


def run(context: ActionContext) -> int:
    lint = plan(context)
    console = context.console
    runs: list[ToolRun] = []
    for name, check in lint.checks:
        tool_run = ToolRun(name)
        started = time.monotonic()
        with console.group(f"{name}"):
            try:
                tool_run.findings = check()
                console.info(f"{name}: {len(tool_run.findings)} finding(s)")
            except ShiplineError as error:
                tool_run.error = error
                console.info(f"{name}: could not check: {error}")
        tool_run.seconds = time.monotonic() - started
        runs.append(tool_run)

    findings = sort_findings(f for r in runs for f in r.findings)
    for finding in findings:
        console.annotate(finding.annotation())
    failed_tools = [r for r in runs if r.error is not None]
    for broken in failed_tools:
        console.error(f"{broken.name} could not check the project: {broken.error}", title="lint")

    counts = count_levels(findings)
    blocking = [f for f in findings if blocks(f.level, lint.fail_on)]
    passed = not blocking and not failed_tools
    if lint.sarif is not None:
        write_log(lint.sarif, findings, tools=[r.name for r in runs if r.error is None])
        context.files.set_output("sarif", lint.sarif)
    context.files.set_output("errors", counts[Level.ERROR])
    context.files.set_output("warnings", counts[Level.WARNING])
    context.files.set_output("notes", counts[Level.NOTE])
    context.files.set_output("findings", len(findings))
    context.files.set_output("outcome", "pass" if passed else "fail")
    context.write_summary(_summary(lint, runs, findings, blocking, passed))
    if passed:
        return 0
    return max((r.error.exit_code for r in failed_tools if r.error), default=1)


def _summary(
    lint: LintPlan,
    runs: list[ToolRun],
    findings: list[Finding],
    blocking: list[Finding],
    passed: bool,
) -> Summary:
    project = lint.target.project.relative_to(lint.target.workspace).as_posix() or "."
    verdict = "✅ passed" if passed else "❌ failed"
    summary = Summary().heading(f"Lint {code_span(project)}: {verdict}")
    counts = count_levels(findings)
    summary.paragraph(
        f"**{counts[Level.ERROR]}** errors, **{counts[Level.WARNING]}** warnings, "
        f"**{counts[Level.NOTE]}** notes; fail-on: `{lint.fail_on.value}`, "
        f"**{len(blocking)}** blocking."
    )
    rows = []
    for tool_run in runs:
        tool_counts = count_levels(tool_run.findings)
        result = (
            f"⚠️ not checked: {tool_run.error}"
            if tool_run.error
            else ("✅ clean" if not tool_run.findings else "findings")
        )
        rows.append(
            [
                tool_run.name,
                result,
                tool_counts[Level.ERROR],
                tool_counts[Level.WARNING],
                tool_counts[Level.NOTE],
                f"{tool_run.seconds:.1f} s",
            ]
        )
    summary.table(["Tool", "Result", "Errors", "Warnings", "Notes", "Time"], rows)
    if findings:
        table = Summary().table(
            ["Level", "Tool", "Rule", "Location", "Message"],
            (
                [f.level.value, f.tool, f.rule_id, str(f.location or ""), f.message]
                for f in findings[:SUMMARY_ROWS]
            ),
        )
        if len(findings) > SUMMARY_ROWS:
            table.paragraph(
                f"… and {len(findings) - SUMMARY_ROWS} more; see the annotations or SARIF."
            )
        # Open when something blocks: what failed the step is the first thing to read.
        summary.details(f"Findings ({len(findings)})", table, expanded=bool(blocking))
    return summary
