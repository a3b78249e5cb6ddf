"""The runner's side of the file and command protocols, for assertions."""

from __future__ import annotations

import re
import sys
from pathlib import Path

# Workflow commands are parsed by the act harness's parser, the one place that knows the
# runner's escaping rules; scripts/ is not a package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from actrun import parse_command, parse_commands

__all__ = ["parse_command", "parse_commands", "parse_key_values"]


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
