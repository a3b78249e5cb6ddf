"""Markdown as GitHub renders it, to check that text from outside shows as written."""

from __future__ import annotations

import html
import re

import cmarkgfm
from cmarkgfm.cmark import Options

_MAILTO = re.compile(r'<a href="mailto:([^"]*)">\1</a>')


def github_html(markdown: str) -> str:
    """``markdown`` rendered by cmark-gfm (GitHub's own Markdown library) with GitHub's
    extensions and footnotes, raw HTML kept so that any that gets through shows."""
    options = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_FOOTNOTES
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=options)


def shown_text(fragment: str) -> str:
    """What a reader sees of rendered ``fragment``, asserting it holds no markup: a line break
    is the one tag allowed, and a bare e-mail address's link, which shows the address itself."""
    text = _MAILTO.sub(r"\1", re.sub("<br ?/?>", "\n", fragment))
    assert "<" not in text, fragment
    return html.unescape(text)
