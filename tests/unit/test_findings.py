from __future__ import annotations

import pytest

from shipline.findings import Finding, Level, Location, Severity, count_levels, sort_findings
from shipline.gha.commands import AnnotationLevel


def test_severity_parsing_and_order() -> None:
    assert Severity.parse(" high ") is Severity.HIGH
    assert Severity.CRITICAL > Severity.HIGH > Severity.MEDIUM > Severity.LOW > Severity.UNKNOWN
    with pytest.raises(ValueError, match="unknown severity 'severe'"):
        Severity.parse("severe")
    assert [s.level for s in Severity] == [
        Level.NOTE,
        Level.NOTE,
        Level.WARNING,
        Level.ERROR,
        Level.ERROR,
    ]


def test_annotation_carries_location_and_title() -> None:
    finding = Finding("ruff", "F401", "unused", Level.NOTE, Location("a.py", 3, 3, 1, 9))
    annotation = finding.annotation()
    assert annotation.level is AnnotationLevel.NOTICE
    assert (annotation.file, annotation.line, annotation.col, annotation.end_column) == (
        "a.py",
        3,
        1,
        9,
    )
    assert annotation.title == "ruff F401"


def test_loudest_first_then_by_place() -> None:
    note = Finding("t", "n", "m", Level.NOTE, Location("a.py", 1))
    late_error = Finding("t", "e", "m", Level.ERROR, Location("b.py", 9))
    early_error = Finding("t", "e", "m", Level.ERROR, Location("b.py", 2))
    nowhere = Finding("t", "w", "m", Level.WARNING)
    assert sort_findings([note, late_error, nowhere, early_error]) == [
        early_error,
        late_error,
        nowhere,
        note,
    ]
    assert count_levels([note, late_error, early_error]) == {
        Level.ERROR: 2,
        Level.WARNING: 0,
        Level.NOTE: 1,
    }
