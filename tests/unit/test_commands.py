from __future__ import annotations

import io

import pytest

from shipline.gha.commands import (
    Annotation,
    AnnotationLevel,
    Console,
    escape_data,
    escape_property,
    format_command,
)
from tests.runner_protocol import parse_command, parse_commands


class TtyBuffer(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_escaping_matches_the_runner() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_format_command_escapes_message_and_properties_and_drops_empty_ones() -> None:
    line = format_command(
        "error", "100% broken\nsee log", {"file": "a,b:c.py", "line": 3, "col": None}
    )
    assert line == "::error file=a%2Cb%3Ac.py,line=3::100%25 broken%0Asee log"
    assert format_command("endgroup") == "::endgroup::"


@pytest.mark.parametrize(
    "message", ["plain", "with % and %25 already", "multi\nline\r\nmessage", "colon: and, comma"]
)
def test_annotation_round_trips_through_the_runner_parser(message: str) -> None:
    out = io.StringIO()
    Console({"GITHUB_ACTIONS": "true"}, out).annotate(
        Annotation(AnnotationLevel.WARNING, message, file="src/a:b.py", line=4, col=2, title="t, x")
    )
    parsed = parse_command(out.getvalue().rstrip("\n"))
    assert parsed == (
        "warning",
        {"title": "t, x", "file": "src/a:b.py", "line": "4", "col": "2"},
        message,
    )


def test_columns_are_dropped_on_multi_line_annotations() -> None:
    single = Annotation(
        AnnotationLevel.ERROR, "m", file="f", line=1, end_line=1, col=3, end_column=9
    )
    multi = Annotation(
        AnnotationLevel.ERROR, "m", file="f", line=1, end_line=4, col=3, end_column=9
    )
    assert single.properties()["col"] == 3
    assert "col" not in multi.properties()
    assert multi.properties()["endLine"] == 4


def test_outside_actions_annotations_are_readable_lines() -> None:
    out = io.StringIO()
    Console({}, out).annotate(
        Annotation(AnnotationLevel.ERROR, "boom", file="a.py", line=3, col=7, title="ruff F401")
    )
    assert out.getvalue() == "error: a.py:3:7: boom [ruff F401]\n"


def test_colour_only_on_a_terminal_and_never_with_no_color() -> None:
    tty = TtyBuffer()
    Console({}, tty).error("x")
    assert "\033[31m" in tty.getvalue()
    plain = TtyBuffer()
    Console({"NO_COLOR": "1"}, plain).error("x")
    assert plain.getvalue() == "error: x\n"
    in_actions = TtyBuffer()
    Console({"GITHUB_ACTIONS": "true"}, in_actions).error("x")
    assert in_actions.getvalue() == "::error::x\n"


def test_mask_sends_each_line_of_a_secret_and_nothing_outside_actions() -> None:
    out = io.StringIO()
    Console({"GITHUB_ACTIONS": "true"}, out).mask("line-one\n\nline-two")
    assert out.getvalue().splitlines() == ["::add-mask::line-one", "::add-mask::line-two"]
    quiet = io.StringIO()
    Console({}, quiet).mask("secret")
    assert "secret" not in quiet.getvalue()


def test_group_is_closed_even_when_the_body_raises() -> None:
    out = io.StringIO()
    console = Console({"GITHUB_ACTIONS": "true"}, out)
    with pytest.raises(RuntimeError), console.group("ruff"):
        raise RuntimeError("inside")
    assert out.getvalue().splitlines() == ["::group::ruff", "::endgroup::"]


@pytest.mark.parametrize(
    "text",
    [
        "coverage measured in a\n::warning file=x.py,line=1::forged",
        "  ::add-mask::failed",  # the runner trims a line first
        "label\r::stop-commands::x",  # a lone carriage return ends a line
        "legacy ##[set-output name=matrix]forged",  # the older form, anywhere in a line
    ],
)
def test_info_shows_text_the_runner_would_read_as_a_command_as_text(text: str) -> None:
    out = io.StringIO()
    Console({"GITHUB_ACTIONS": "true"}, out).info(text)
    lines = out.getvalue().splitlines()
    token = lines[0].removeprefix("::stop-commands::")
    assert lines == [f"::stop-commands::{token}", *text.splitlines(), f"::{token}::"]
    assert len(token) == 32
    assert parse_commands(out.getvalue()) == []


def test_info_prints_other_lines_as_they_are() -> None:
    out = io.StringIO()
    Console({"GITHUB_ACTIONS": "true"}, out).info("Merged: 2 tests: a::b passed ## [x]")
    assert out.getvalue() == "Merged: 2 tests: a::b passed ## [x]\n"
    out = io.StringIO()
    Console({}, out).info("::warning::not in a workflow")
    assert out.getvalue() == "::warning::not in a workflow\n"


def test_each_verbatim_window_has_a_token_of_its_own() -> None:
    out = io.StringIO()
    console = Console({"GITHUB_ACTIONS": "true"}, out)
    for _ in range(2):
        with console.verbatim() as show:
            show("::error::from a test")
    console.warning("after the window")
    starts = [line for line in out.getvalue().splitlines() if "stop-commands" in line]
    assert len(set(starts)) == 2
    assert parse_commands(out.getvalue()) == [("warning", {}, "after the window")]
