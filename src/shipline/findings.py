"""One Finding model for every tool: linters and scanners alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from shipline.gha.commands import Annotation, AnnotationLevel


class Level(StrEnum):
    """How loud a finding is, in SARIF's words (``error`` > ``warning`` > ``note``)."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"

    @property
    def rank(self) -> int:
        return {Level.ERROR: 2, Level.WARNING: 1, Level.NOTE: 0}[self]


class Severity(IntEnum):
    """Security severity, normalised across scanners; ordered so that ``>=`` means worse."""

    UNKNOWN = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}") from None

    @property
    def level(self) -> Level:
        if self >= Severity.HIGH:
            return Level.ERROR
        if self >= Severity.MEDIUM:
            return Level.WARNING
        return Level.NOTE


@dataclass(frozen=True)
class Location:
    path: str
    line: int | None = None
    end_line: int | None = None
    column: int | None = None
    end_column: int | None = None

    def __str__(self) -> str:
        where = self.path
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return where


@dataclass(frozen=True)
class Finding:
    tool: str
    rule_id: str
    message: str
    level: Level
    location: Location | None = None
    severity: Severity | None = None
    help_uri: str | None = None
    # Dependency findings (SCA, container scans) name the package and the versions involved.
    package: str | None = None
    installed_version: str | None = None
    fixed_version: str | None = None

    def annotation(self) -> Annotation:
        loc = self.location
        return Annotation(
            level=_ANNOTATION_LEVEL[self.level],
            message=self.message,
            title=f"{self.tool} {self.rule_id}".strip(),
            file=loc.path if loc else None,
            line=loc.line if loc else None,
            end_line=loc.end_line if loc else None,
            col=loc.column if loc else None,
            end_column=loc.end_column if loc else None,
        )


_ANNOTATION_LEVEL = {
    Level.ERROR: AnnotationLevel.ERROR,
    Level.WARNING: AnnotationLevel.WARNING,
    Level.NOTE: AnnotationLevel.NOTICE,
}


def count_levels(findings: Iterable[Finding]) -> dict[Level, int]:
    counts = dict.fromkeys(Level, 0)
    for finding in findings:
        counts[finding.level] += 1
    return counts


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Loudest first, then by file and line, so the summary leads with what blocks."""
    return sorted(
        findings,
        key=lambda f: (
            -f.level.rank,
            f.location.path if f.location else "",
            (f.location.line or 0) if f.location else 0,
            f.tool,
            f.rule_id,
        ),
    )
