"""jsonschema's error messages, short enough for one annotation line."""

from __future__ import annotations

from typing import Any

from shipline.gha.summary import brief

# a value quoted in a message: enough to recognise it on its line
QUOTED_CHARS = 80


def schema_message(error: Any) -> str:
    """``error``'s message with the value it quotes cut to ``QUOTED_CHARS``: jsonschema repeats
    the whole value ("'…' is not of type 'array'"), which an input file can make a megabyte
    long, printed whole in the error's one line."""
    message = str(error.message)
    quoted = repr(error.instance)
    return (
        message.replace(quoted, brief(quoted, QUOTED_CHARS))
        if len(quoted) > QUOTED_CHARS
        else message
    )
