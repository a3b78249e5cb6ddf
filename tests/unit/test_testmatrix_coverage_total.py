"""How merge judges the combined coverage against a threshold."""

from __future__ import annotations

import pytest

from shipline.testmatrix.action import CoverageTotal


@pytest.mark.parametrize(
    ("percent", "threshold", "below"),
    [
        (81.818, 81.82, False),  # judged on the 81.82 shown, as coverage.py does on its precision
        (81.814, 81.82, True),
        (99.996, 100, True),  # rounds to 100.00, yet one line is not covered
        (99.996, 99.995, False),  # rounds to 100.00, as coverage.py's fail_under judges it
        (100.0, 100, False),
        (12.0, None, False),
    ],
)
def test_coverage_is_judged_on_the_figure_shown_except_at_100(
    percent: float, threshold: float | None, below: bool
) -> None:
    assert CoverageTotal(percent, threshold, "coverage-threshold").below is below


@pytest.mark.parametrize(
    ("percent", "shown"),
    [(99.996, "99.99"), (100.0, "100.00"), (0.004, "0.01"), (0.0, "0.00"), (81.814, "81.81")],
)
def test_coverage_shows_as_coverage_py_does_never_100_nor_0_unless_so(
    percent: float, shown: str
) -> None:
    # a figure that would read as the 100 it misses, or as nothing covered, is not rounded so
    assert CoverageTotal(percent, None, "").shown == shown


@pytest.mark.parametrize(
    ("percent", "fail_under", "precision"),
    [
        (66.667, 66.67, 3),  # below at the project's precision, not at two decimals
        (66.67, 67, 0),  # coverage.py's default precision: 67, not below
        (66.4, 67, 0),
        (99.996, 100, 0),
        (100.0, 100, 0),
        (81.814, 81.82, 2),
    ],
)
def test_the_project_s_fail_under_is_judged_as_coverage_py_judges_it(
    percent: float, fail_under: float, precision: int
) -> None:
    from coverage.results import should_fail_under

    total = CoverageTotal(percent, fail_under, "the project's fail_under", precision)
    assert total.below is should_fail_under(percent, fail_under, precision)
