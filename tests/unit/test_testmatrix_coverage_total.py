"""How merge judges the combined coverage against a threshold."""

from __future__ import annotations

import pytest

from shipline.testmatrix.action import CoverageTotal


@pytest.mark.parametrize(
    ("percent", "threshold", "below"),
    [
        (81.818, 81.82, False),  # judged on the 81.82 shown, as coverage.py does on its precision
        (81.814, 81.82, True),
        (99.996, 100, True),  # shown as 100.00, yet one line is not covered
        (100.0, 100, False),
        (12.0, None, False),
    ],
)
def test_coverage_is_judged_on_the_figure_shown_except_at_100(
    percent: float, threshold: float | None, below: bool
) -> None:
    assert CoverageTotal(percent, threshold, "coverage-threshold").below is below


def test_a_message_shows_enough_digits_not_to_read_as_the_threshold_it_misses() -> None:
    assert CoverageTotal(99.996, 100, "x").exact == "99.996"
    assert CoverageTotal(81.814, 81.82, "x").exact == "81.81"
