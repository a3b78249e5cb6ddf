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
        ("level(arg=1)", "level(arg = 1) and x", False),  # spacing in a call
        ("not level(arg=1)", "not (level(arg=1)) and x", False),  # a call is one operand
        ("level(arg='a or b')", "level(arg='a or b') and x", False),  # a quoted or is no or
        ('level(arg=")") or b', '(level(arg=")") or b) and c', False),  # nor a quoted )
        ('a and level(arg=")") or b', "a and c", True),  # the or is at the top level
        ("level(arg=1)", "level(arg=2)", True),
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


@pytest.mark.parametrize(("nots", "said"), [(1501, False), (1500, True)])
def test_a_long_chain_of_nots_is_undone_without_recursion(nots: int, said: bool) -> None:
    # pytest takes as many as its stack allows; an odd number of them is one not
    markers = "not " * nots + "stress and x"
    assert bool(set_aside(markers, ["not stress", markers])) is said
