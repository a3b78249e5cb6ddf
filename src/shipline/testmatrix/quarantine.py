"""The quarantine register: a YAML file of tests whose failures do not fail the job.

Each entry names the test, why, who owns the fix, the tracking issue and an expiry date. The
file is validated against ``quarantine.schema.json`` (shipped beside this module); errors
name the file and the line of the offending YAML node. Dates stay strings (the YAML timestamp
type is not resolved), so the schema's ``date`` format checks them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from shipline.errors import UsageError
from shipline.yamllines import line_at

SCHEMA_FILE = "quarantine.schema.json"


class RegisterError(UsageError):
    """A malformed register: names file and line."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"quarantine register {where}: {reason}")
        self.path = path
        self.line = line


@dataclass(frozen=True)
class Entry:
    test: str
    reason: str
    owner: str
    issue: str
    expires: dt.date
    line: int  # 1-based line of the entry in the register

    def expired(self, today: dt.date) -> bool:
        return today > self.expires


@dataclass(frozen=True)
class Register:
    path: str  # as shown to people: workspace-relative
    entries: tuple[Entry, ...]

    def active(self, today: dt.date) -> dict[str, Entry]:
        return {e.test: e for e in self.entries if not e.expired(today)}

    def expired(self, today: dt.date) -> list[Entry]:
        return [e for e in self.entries if e.expired(today)]


class _StringDatesLoader(yaml.SafeLoader):
    """SafeLoader without the timestamp type: ``2026-01-31`` stays the string it is."""

    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML's own class-level table
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


@cache
def schema() -> dict[str, Any]:
    text = resources.files("shipline.testmatrix").joinpath(SCHEMA_FILE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def load(path: Path, display: str) -> Register:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RegisterError(display, None, f"cannot be read: {error}") from None
    return parse(text, display)


def parse(text: str, display: str) -> Register:
    # the test extra's dependency, imported only when a register is given; it ships no types
    import jsonschema  # type: ignore[import-untyped]

    try:
        node = yaml.compose(text, Loader=_StringDatesLoader)
        data = yaml.load(text, Loader=_StringDatesLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise RegisterError(
            display, mark.line + 1 if mark else None, f"not valid YAML: {error.problem}"
        ) from None
    except yaml.YAMLError as error:
        raise RegisterError(display, None, f"not valid YAML: {error}") from None
    if node is None:
        raise RegisterError(display, 1, "is empty: expected 'version: 1' and 'tests:'")
    validator = jsonschema.Draft202012Validator(
        schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        line = line_at(node, list(first.absolute_path))
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise RegisterError(display, line, f"{where}: {first.message}{more}")
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(data["tests"]):
        line = line_at(node, ["tests", index])
        if item["id"] in seen:
            raise RegisterError(
                display, line, f"{item['id']} is listed twice (first on line {seen[item['id']]})"
            )
        seen[item["id"]] = line
        entries.append(
            Entry(
                item["id"],
                item["reason"],
                item["owner"],
                item["issue"],
                dt.date.fromisoformat(item["expires"]),
                line,
            )
        )
    return Register(display, tuple(entries))


def ready_to_release(
    register: Register, streaks: Mapping[str, int], runs: int, today: dt.date
) -> list[Entry]:
    """Quarantined tests that passed ``runs`` merged runs in a row: the fix has held."""
    return [e for e in register.active(today).values() if streaks.get(e.test, 0) >= runs]
