"""Markdown job summaries (``$GITHUB_STEP_SUMMARY``) that a reviewer reads in ten seconds."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from shipline.gha.commands import Console


class Code(str):
    """A table cell shown as code, such as a test id: its ``*``, ``_``, ``[...](...)`` and
    backticks stay as they are, so it can be copied from the summary."""


def code_span(text: str) -> str:
    """``text`` as inline code, on one line: fenced with more backticks than it holds in a row,
    and padded when it starts or ends with one (CommonMark)."""
    flat = " ".join(text.splitlines())
    fence = "`" * (max((len(run) for run in re.findall("`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def cell(value: object) -> str:
    """One table cell of text from outside (a message, an owner, a label), shown as written:
    pipes and line breaks (a lone carriage return is one too) would break the table, and
    Markdown would render (a link, an image, emphasis, HTML). A pipe is escaped inside code
    too: GitHub splits the row on it first. A cell is cut to ``CELL_CHARS``: a test id can be
    a whole string parameter, a container's name a megabyte, and a summary over 1 MiB loses
    its later tables."""
    if isinstance(value, Code):
        return code_span(brief(value, CELL_CHARS)).replace("|", "\\|")
    return "<br>".join(plain(line) for line in _LINE_BREAK.split(brief(str(value), CELL_CHARS)))


def markdown_cell(text: str) -> str:
    """One table cell of Markdown written here (the README reference's descriptions): its
    emphasis, code and links render; pipes and line breaks still cannot break the table."""
    escaped = html.escape(text, quote=False).replace("|", "\\|")
    return _LINE_BREAK.sub("<br>", escaped)


def inline(value: object) -> str:
    """Text from outside (a register's owner, a project's option) in a paragraph or a bullet,
    at its start too: on one line, shown as written (less leading spaces, which Markdown drops
    or reads as code)."""
    text = plain(" ".join(str(value).splitlines()).lstrip(" \t"))
    return _BLOCK_START.sub(lambda start: f"{start[0][:-1]}\\{start[0][-1]}", text, count=1)


def plain(line: str) -> str:
    """One line of text from outside, backslash-escaped where GitHub's Markdown would read
    markup (a link, image or autolink, emphasis, code, HTML, an entity, math, a cell's end)
    and left as it is elsewhere, so that the Markdown printed outside Actions stays readable.
    Meant inside a line, not at a block's start, where ``#``, ``-`` and ``>`` stay bare: see
    ``inline``."""
    return _MARKUP.sub(r"\\\g<0>", line)


# What GitHub's Markdown (cmark-gfm) reads as markup inside a line; tests/unit/test_summary.py
# renders the escaped text with cmark-gfm itself. Emphasis and strikethrough need an opening
# ``*``, ``_`` or ``~`` followed by a non-space, and a ``_`` after a letter or digit opens
# nothing (CommonMark's flanking rules): the rest stay bare, so identifiers and ``a * b`` read
# as written. An autolink (https://..., www....) shows its own URL, so it hides nothing, but
# it takes that text from the source: an escape inside one would show, so none starts. ``$``
# is escaped for GitHub's math, which cmark-gfm lacks (GitHub may not read the escape there).
_MARKUP = re.compile(
    r"[\\`<|$]"  # escapes, code, HTML and <autolinks>, a cell's end, math
    r"|&(?=#?\w+;)"  # an entity such as &amp;
    r"|\](?=\(|$)"  # the end of a link's or an image's text: [text](url)
    r"|\[(?=\^)"  # a footnote, whose label GitHub prints from its source, escapes and all
    r"|:(?=//)"  # an autolink, from its scheme: https://
    r"|(?<=(?i:www))\."  # or from www.
    r"|[*_~](?![ \t])(?<![^\W_]_)"  # the opening of emphasis or strikethrough
)

# What starts a block at a paragraph's or a list item's start: a heading, a quote, a list
# item (an ordered one by its ``1.`` or ``1)``), a rule (``* * *``) or underline, a task's
# ``[ ]`` or a link's definition (``[a]: url``, which hides the paragraph).
_BLOCK_START = re.compile(r"^[-+*_#>=\[]|^\d{1,9}[.)](?=[ \t]|$)")


CELL_CHARS = 500
# GitHub shows no step summary over 1 MiB, not even its beginning
SUMMARY_BYTES = 1024 * 1024
_CUT_NOTE_BYTES = 200  # room kept for the note that says parts were left out
_LINE_BREAK = re.compile(r"\r\n?|\n")  # CommonMark's line endings


def brief(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis saying so: GitHub drops a step summary
    over 1 MiB whole, and a test id can be a whole string parameter, a message a whole repr
    (pytest before 9); the full text stays in the report it came from."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class Summary:
    """Builds Markdown in order, then appends it to the step summary in one write."""

    def __init__(self) -> None:
        self._parts: list[str] = []

    def heading(self, text: str, level: int = 2) -> Summary:
        self._parts.append(f"{'#' * level} {text}")
        return self

    def paragraph(self, text: str) -> Summary:
        self._parts.append(text)
        return self

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> Summary:
        lines = [
            "| " + " | ".join(cell(h) for h in headers) + " |",
            "| " + " | ".join("---" for _ in headers) + " |",
        ]
        lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
        self._parts.append("\n".join(lines))
        return self

    def bullets(self, items: Iterable[str]) -> Summary:
        self._parts.append("\n".join(f"- {item}" for item in items))
        return self

    def details(self, label: str, body: Summary | str, *, expanded: bool = False) -> Summary:
        """A collapsible section; the blank lines let GitHub render Markdown inside the HTML."""
        inner = (body.markdown() if isinstance(body, Summary) else body).rstrip("\n")
        tag = "<details open>" if expanded else "<details>"
        self._parts.append(f"{tag}<summary>{html.escape(label)}</summary>\n\n{inner}\n\n</details>")
        return self

    def code(self, text: str, language: str = "") -> Summary:
        fence = "```"
        while fence in text:
            fence += "`"
        self._parts.append(f"{fence}{language}\n{text}\n{fence}")
        return self

    def markdown(self) -> str:
        return "\n\n".join(self._parts) + "\n"

    def _within(self, room: int) -> str:
        """The Markdown, whole parts from the first while they fit in ``room`` bytes (the first
        parts say what failed), and a note of how many were left out; nothing if that much
        does not fit."""
        whole = self.markdown()
        if len(whole.encode()) < room:
            return whole
        if room < _CUT_NOTE_BYTES:  # not even the note: over 1 MiB, the earlier text goes too
            return ""
        kept: list[str] = []
        size = 0
        for part in self._parts:
            size += len(part.encode()) + 2
            if size > room - _CUT_NOTE_BYTES:
                break
            kept.append(part)
        left = len(self._parts) - len(kept)
        if left:
            kept.append(
                f"*{left} more part(s) of this summary left out: GitHub shows no step summary "
                "over 1 MiB.*"
            )
        return "\n\n".join(kept) + "\n"

    def write(self, console: Console, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        target = env.get("GITHUB_STEP_SUMMARY")
        if target:
            path = Path(target)
            written = path.stat().st_size if path.exists() else 0  # by this step, earlier
            shown = self._within(SUMMARY_BYTES - written)
            if shown:
                with path.open("a", encoding="utf-8") as handle:
                    handle.write(shown + "\n")
        elif not console.in_actions:
            console.info(self.markdown().rstrip())
