"""The gate: one severity threshold for every scanner, minus the register's exceptions.

Pure logic. A finding blocks when its severity reaches the threshold and no valid
exception covers it. A finding of UNKNOWN severity blocks too (unless the gate is off):
the scanner could not say how bad it is, and the gate fails closed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from shipline.findings import Finding, Severity
from shipline.scan.register import ExceptionEntry


class FailOn(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NEVER = "never"

    @property
    def threshold(self) -> Severity | None:
        return None if self is FailOn.NEVER else Severity[self.name]


@dataclass
class GateResult:
    blocking: list[Finding] = field(default_factory=list)
    below_threshold: list[Finding] = field(default_factory=list)
    suppressed: list[tuple[Finding, ExceptionEntry]] = field(default_factory=list)
    expired: list[ExceptionEntry] = field(default_factory=list)
    unjustified: list[ExceptionEntry] = field(default_factory=list)
    stale: list[ExceptionEntry] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not (self.blocking or self.expired or self.unjustified)


def severity_of(finding: Finding) -> Severity:
    return Severity.UNKNOWN if finding.severity is None else finding.severity


def reaches(severity: Severity, fail_on: FailOn) -> bool:
    threshold = fail_on.threshold
    if threshold is None:
        return False
    return severity is Severity.UNKNOWN or severity >= threshold


def evaluate(
    findings: Iterable[Finding], fail_on: FailOn, register: Sequence[ExceptionEntry], today: date
) -> GateResult:
    result = GateResult()
    # Expired or unjustified entries suppress nothing: their findings count as if unlisted.
    usable = []
    for entry in register:
        if entry.expired(today):
            result.expired.append(entry)
        elif not entry.justified:
            result.unjustified.append(entry)
        else:
            usable.append(entry)
    by_id: dict[str, list[ExceptionEntry]] = {}
    for entry in usable:
        by_id.setdefault(entry.id.lower(), []).append(entry)
    used: set[int] = set()
    for finding in findings:
        candidates = by_id.get(finding.rule_id.lower())
        match = next((e for e in candidates if e.matches(finding)), None) if candidates else None
        if match is not None:
            used.add(id(match))
            result.suppressed.append((finding, match))
        elif reaches(severity_of(finding), fail_on):
            result.blocking.append(finding)
        else:
            result.below_threshold.append(finding)
    result.stale = [entry for entry in usable if id(entry) not in used]
    return result


def by_severity(findings: Iterable[Finding]) -> list[Finding]:
    """Worst first, then by place, so the summary leads with what matters most."""
    return sorted(
        findings,
        key=lambda f: (
            -severity_of(f),
            f.location.path if f.location else "",
            (f.location.line or 0) if f.location else 0,
            f.tool,
            f.rule_id,
        ),
    )


def severity_counts(findings: Iterable[Finding]) -> Counter[Severity]:
    return Counter(severity_of(finding) for finding in findings)
