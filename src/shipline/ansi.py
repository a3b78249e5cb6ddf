"""Terminal colour codes out of text that is read, not shown (pure logic).

Tools colour their output when the environment asks for it (``FORCE_COLOR=1``, ``PY_COLORS=1``
are common job-wide settings), pytest even into its JUnit report: what shipline parses, quotes
in an annotation or places on a line must be the plain text.
"""

from __future__ import annotations

import re

# CSI sequences: colours, bold, cursor moves ("\x1b[31m", "\x1b[1;33m", "\x1b[?25l"); in a
# JUnit report pytest writes the ESC character, which XML cannot hold, as the text "#x1B"
_CODES = re.compile(r"(?:\x1b|#x1B)\[[0-9;?]*[ -/]*[@-~]")


def plain(text: str) -> str:
    return _CODES.sub("", text)
