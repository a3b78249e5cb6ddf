"""The runner's side of the file protocol, written from its documented format, for assertions."""

from __future__ import annotations

import re
from pathlib import Path


def parse_key_values(path: Path) -> dict[str, str]:
    """Parse ``$GITHUB_OUTPUT``/``$GITHUB_ENV``: ``name=value`` or ``name<<DELIM`` blocks."""
    values: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        heredoc = re.match(r"^([^=<]+)<<(.+)$", line)
        if heredoc:
            name, delimiter = heredoc.groups()
            body: list[str] = []
            while lines[index] != delimiter:
                body.append(lines[index])
                index += 1
            index += 1
            values[name] = "\n".join(body)
        else:
            name, _, value = line.partition("=")
            values[name] = value
    return values


def unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    return unescape_data(text.replace("%3A", ":").replace("%2C", ","))


def parse_command(line: str) -> tuple[str, dict[str, str], str] | None:
    """``::name k=v,k2=v2::message`` as the runner reads it, or None for an ordinary line."""
    match = re.match(r"^::([a-zA-Z-]+)(?: ([^:]*))?::(.*)$", line)
    if not match:
        return None
    name, props_text, message = match.groups()
    props: dict[str, str] = {}
    for pair in (props_text or "").split(","):
        if pair:
            key, _, value = pair.partition("=")
            props[key] = unescape_property(value)
    return name, props, unescape_data(message)
