from __future__ import annotations

import io
import random
import re
from pathlib import Path

from shipline.gha.commands import Console
from shipline.gha.summary import (
    CELL_CHARS,
    SUMMARY_BYTES,
    Code,
    Summary,
    cell,
    code_span,
    inline,
    markdown_cell,
)
from tests.support.markdown import github_html, shown_text


def test_cells_cannot_break_the_table_or_inject_html() -> None:
    assert cell("a|b\nc") == "a\\|b<br>c"
    assert cell("<script>x</script>") == "\\<script>x\\</script>"


def test_outside_text_renders_as_written_not_as_markdown() -> None:
    # a link or image that hides where it goes, emphasis, code, HTML, entities, autolinks
    tricks = [
        "![passed](https://e.test/ok.svg) [docs](https://e.test)",
        "__init__ *args **kwargs ~~gone~~ `x`",
        "<img src=x> &amp; &#65; <https://e.test> www.e.test https://e.test/a_b",
        "pytest.raises(match='[^*<>|]+') [^1]",
    ]
    for text in tricks:
        rendered = github_html(f"| h |\n| --- |\n| {cell(text)} |\n")
        assert shown_text(rendered.split("<td>")[1].split("</td>")[0]) == text, rendered
    # identifiers and arithmetic stay readable in the Markdown printed outside Actions
    readable = "test_foo_bar: assert [1, 2] == [1, 2 * 3] (one of 2)"
    assert cell(readable) == readable
    assert markdown_cell("`x` or **y**") == "`x` or **y**"  # the reference's own Markdown


def test_any_text_in_a_cell_or_a_line_renders_as_written() -> None:
    # random text made of what Markdown reads as markup, rendered by GitHub's library: in a
    # table cell, inside a paragraph, and at the start of a paragraph and of a bullet
    pieces = [*"ab_*~`[]()!<>&#;:/.\\|$@ \t\né1-+=^\"'{}", "www.", "http://", "https://x."]
    pieces += ["&amp;", "&#65;", "<b>", "](", "![", "[^", "\r", "\r\n", "me@e.test", "__", "**"]
    pieces += ["~~", "1. ", "2) ", "- ", "# ", "> ", "[ ] ", "[a]: ", "    ", "---", "==="]
    rng = random.Random(3)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        rendered = github_html(f"| h |\n| --- |\n| {cell(text)} |\n")
        shown = shown_text(rendered.split("<td>")[1].split("</td>")[0])
        assert shown == re.sub(r"\r\n?", "\n", text).strip(" \t"), (text, rendered)
        line = " ".join(text.splitlines()).lstrip(" \t")  # Markdown drops leading spaces
        within = github_html(f"x {inline(text)} y")
        assert shown_text(within.removeprefix("<p>").removesuffix("</p>\n")) == f"x {line} y"
        starting = github_html(f"{inline(text)} y")
        expected = (line + " y").lstrip(" ")
        assert shown_text(starting.removeprefix("<p>").removesuffix("</p>\n")) == expected
        bullet = github_html(f"- {inline(text)} y")
        item = bullet.removeprefix("<ul>\n<li>").removesuffix("</li>\n</ul>\n")
        assert shown_text(item) == expected, (text, bullet)


def test_code_cells_keep_a_test_id_as_written() -> None:
    # emphasis, links and code in an id stay literal; a pipe still cannot split the row
    assert cell(Code("t.py::test[*_a_*-[x](y)]")) == "`t.py::test[*_a_*-[x](y)]`"
    assert cell(Code("t.py::test[a|b]")) == "`t.py::test[a\\|b]`"
    assert cell(Code("t.py::test[`x``]")) == "```t.py::test[`x``]```"
    assert cell(Code("t.py::test_`a`")) == "`` t.py::test_`a` ``"  # padded: ends with one
    assert cell(Code("t.py::test[a\nb]")) == "`t.py::test[a b]`"
    assert code_span("t.py::test[<b>]") == "`t.py::test[<b>]`"  # code shows HTML as text


def test_table_details_and_code_render_markdown() -> None:
    inner = Summary().table(["Rule", "Where"], [["F401", "a.py:1"]])
    text = (
        Summary()
        .heading("Lint")
        .paragraph("**2** errors")
        .details("Findings (1)", inner)
        .code("print('```')", "python")
        .markdown()
    )
    assert text.startswith(
        "## Lint\n\n**2** errors\n\n<details><summary>Findings (1)</summary>\n\n| Rule | Where |\n| --- | --- |\n| F401 | a.py:1 |\n\n</details>"
    )
    # A fence longer than any backtick run inside keeps the code block closed.
    assert "````python\nprint('```')\n````" in text


def test_details_can_start_expanded() -> None:
    assert (
        Summary()
        .details("x", "body", expanded=True)
        .markdown()
        .startswith("<details open><summary>x</summary>")
    )


def test_write_appends_to_the_step_summary(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    target.write_text("earlier step\n")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(target)}
    Summary().heading("Mine").write(Console(env, io.StringIO()), env)
    assert target.read_text() == "earlier step\n## Mine\n\n"


def test_outside_actions_the_summary_is_printed() -> None:
    out = io.StringIO()
    Summary().table(["a"], [[1]]).write(Console({}, out), {})
    assert out.getvalue() == "| a |\n| --- |\n| 1 |\n"


def test_a_lone_carriage_return_cannot_end_a_cell() -> None:
    # CommonMark ends a line at \r too: the rest would render as Markdown below the table
    assert cell("boom\r\r## passed\r\nx\ny") == "boom<br><br>## passed<br>x<br>y"


def test_a_long_text_cell_is_cut_so_that_later_tables_stay() -> None:
    # a container's or a file's name can be a megabyte: over 1 MiB GitHub keeps no table after
    shown = cell("container " + "x" * 1_000_000 + " is privileged")
    assert shown == "container " + "x" * (CELL_CHARS - 11) + "…"


def test_a_long_code_cell_is_cut() -> None:
    shown = cell(Code("t.py::test[" + "a" * 200_000 + "]"))
    assert shown == "`t.py::test[" + "a" * (CELL_CHARS - 12) + "…`"


def test_inline_text_stays_on_its_line_and_shows_html_as_text() -> None:
    assert inline("<h2>x</h2>\n## y") == "\\<h2>x\\</h2> ## y"


def test_a_summary_over_github_s_limit_keeps_its_first_parts(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    target.write_text("x" * 1000 + "\n")  # what the step wrote before
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(target)}
    summary = Summary().heading("Failures")
    for _ in range(3):
        summary.code("y" * 400_000)
    summary.write(Console(env, io.StringIO()), env)
    text = target.read_text()
    assert len(text.encode()) <= SUMMARY_BYTES
    assert text.count("y" * 400_000) == 2
    assert text.rstrip().endswith(
        "*1 more part(s) of this summary left out: GitHub shows no step summary over 1 MiB.*"
    )


def test_a_summary_that_fits_is_written_whole(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(target)}
    summary = Summary().code("y" * (SUMMARY_BYTES - 20))
    summary.write(Console(env, io.StringIO()), env)
    assert target.read_text() == summary.markdown() + "\n"


def test_a_summary_whose_cut_note_would_not_fit_writes_nothing(tmp_path: Path) -> None:
    # over 1 MiB GitHub shows none of the step's summary, the earlier text either
    target = tmp_path / "summary.md"
    target.write_text("x" * (SUMMARY_BYTES - 50))
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(target)}
    Summary().paragraph("y" * 100).write(Console(env, io.StringIO()), env)
    assert target.stat().st_size == SUMMARY_BYTES - 50
