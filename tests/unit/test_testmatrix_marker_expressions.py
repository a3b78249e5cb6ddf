from __future__ import annotations

import pytest

from shipline.testmatrix.marker_expressions import set_aside


@pytest.mark.parametrize(
    ("project", "markers", "said"),
    [
        ("not stress", "not slow", True),
        ("not stress", "not stress_heavy", True),  # a longer name is another marker
        ("not stress", "stress", True),
        ("not stress", "smoke or fast and not stress", True),  # and binds tighter than or
        ("not (stress or slow)", "not stress or slow", True),
        ("not stress", "not not stress", True),
        ("a or b", "c", True),
        ("not stress", "(not stress) and (not slow)", False),
        ("not  slow", "not slow and fast", False),  # spacing
        ("not stress", "not (stress) and slow", False),  # grouping
        ("not stress", "((not stress)) and x", False),
        ("not stress", "not not not stress", False),
        ("a or b", "(a or b) and c", False),
        ("level(arg=1) and not stress", "not stress and level(arg=1)", False),
        ("not stress", "", False),  # no markers input: nothing set aside
    ],
)
def test_what_the_markers_input_sets_aside(project: str, markers: str, said: bool) -> None:
    assert bool(set_aside(markers, [project, markers])) is said


@pytest.mark.parametrize("markers", ["(a", ")", "not", "not not", "()", ")("])
def test_expressions_pytest_refuses_give_no_crash(markers: str) -> None:
    # pytest answers them itself (exit 4); plan must not fail before it does
    assert set_aside(markers, ["not stress", markers]).startswith(f"markers '{markers}'")


def test_a_single_expression_is_the_markers_input_alone() -> None:
    assert set_aside("slow", ["slow"]) == ""
