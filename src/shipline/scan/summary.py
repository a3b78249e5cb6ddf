"""The scan-gate job summary: verdict first, then what blocks, then what was excepted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from shipline.errors import ShiplineError
from shipline.findings import Finding, Severity
from shipline.gha.summary import Summary, code_span, inline
from shipline.scan.gate import FailOn, GateResult, severity_of
from shipline.scan.register import ExceptionEntry

T = TypeVar("T")

SUMMARY_ROWS = 50
SEVERITIES = [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.UNKNOWN]


@dataclass
class ScannerRun:
    name: str
    tools: list[str]  # the Finding.tool names (SARIF runs) this scanner produces
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    error: ShiplineError | None = None


def where(finding: Finding) -> str:
    """Package and version for dependencies, file:line for code."""
    if finding.package:
        installed = f" {finding.installed_version}" if finding.installed_version else ""
        place = f" ({finding.location.path})" if finding.location else ""
        return f"{finding.package}{installed}{place}"
    return str(finding.location or "")


def _row(finding: Finding) -> list[object]:
    return [
        severity_of(finding).name,
        finding.tool,
        finding.rule_id,
        where(finding),
        finding.fixed_version or "",
        finding.message,
    ]


def _limited(
    summary: Summary, items: Sequence[T], row: Callable[[T], list[object]], headers: list[str]
) -> None:
    """A table of the first rows only: a summary of 100,000 findings stays readable (and fast)."""
    summary.table(headers, (row(item) for item in items[:SUMMARY_ROWS]))
    if len(items) > SUMMARY_ROWS:
        summary.paragraph(f"… and {len(items) - SUMMARY_ROWS} more; see the SARIF report.")


def _suppressed_row(pair: tuple[Finding, ExceptionEntry]) -> list[object]:
    finding, entry = pair
    return [
        severity_of(finding).name,
        finding.tool,
        finding.rule_id,
        where(finding),
        entry.owner,
        entry.expires.isoformat(),
        entry.justification,
    ]


def build_summary(
    *,
    project: str,
    fail_on: FailOn,
    runs: list[ScannerRun],
    findings: list[Finding],
    gate: GateResult,
    passed: bool,
    warnings: list[str],
    register: str | None,
) -> Summary:
    verdict = "✅ passed" if passed else "❌ blocked"
    summary = Summary().heading(f"Scan gate {code_span(project)}: {verdict}")
    failed = [r for r in runs if r.error is not None]
    summary.paragraph(
        f"fail-on: `{fail_on.value}` · **{len(gate.blocking)}** blocking · "
        f"**{len(gate.suppressed)}** suppressed by exceptions · {len(findings)} findings in all"
        + (f" · **{len(failed)}** scanner(s) could not check" if failed else "")
    )
    if warnings:
        summary.bullets(f"⚠️ {inline(w)}" for w in warnings)  # a file's name and its text

    by_tool: dict[str, Counter[Severity]] = {}
    for run in runs:
        for tool in run.tools:
            by_tool.setdefault(tool, Counter())
    for finding in findings:
        by_tool.setdefault(finding.tool, Counter())[severity_of(finding)] += 1
    status = {}
    for run in runs:
        for tool in run.tools:
            status[tool] = (
                f"⚠️ not checked: {run.error}" if run.error else f"ran in {run.seconds:.1f} s"
            )
    summary.table(
        ["Tool", *(s.name.title() for s in SEVERITIES), "Status"],
        (
            [tool, *(counts[s] for s in SEVERITIES), status.get(tool, "")]
            for tool, counts in by_tool.items()
        ),
    )

    headers = ["Severity", "Tool", "Id", "Package or location", "Fixed in", "Message"]
    if gate.blocking:
        summary.heading(f"Blocking ({len(gate.blocking)})", 3)
        _limited(summary, gate.blocking, _row, headers)
    if gate.expired or gate.unjustified:
        summary.heading("Exceptions that fail the gate", 3)
        rows: list[list[object]] = [
            [e.describe(), e.owner, e.expires.isoformat(), f"expired ({register}:{e.line})"]
            for e in gate.expired
        ]
        rows += [
            [
                e.describe(),
                e.owner,
                e.expires.isoformat(),
                f"no justification ({register}:{e.line})",
            ]
            for e in gate.unjustified
        ]
        summary.table(["Exception", "Owner", "Expires", "Problem"], rows)
    if gate.suppressed:
        summary.heading(f"Suppressed by exceptions ({len(gate.suppressed)})", 3)
        _limited(
            summary,
            gate.suppressed,
            _suppressed_row,
            ["Severity", "Tool", "Id", "Package or location", "Owner", "Expires", "Justification"],
        )
    if gate.stale:
        summary.heading(f"Stale exceptions ({len(gate.stale)})", 3)
        summary.paragraph(
            "These matched no finding: the risk is gone, remove them from the register."
        )
        summary.table(
            ["Exception", "Owner", "Expires", "Line"],
            (
                [e.describe(), e.owner, e.expires.isoformat(), f"{register}:{e.line}"]
                for e in gate.stale
            ),
        )
    if gate.below_threshold:
        body = Summary()
        _limited(body, gate.below_threshold, _row, headers)
        summary.details(f"Below the threshold ({len(gate.below_threshold)})", body)
    return summary
