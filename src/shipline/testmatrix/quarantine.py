"""The quarantine register: a YAML file of tests whose failures do not fail the job.

Each entry names the test, why, who owns the fix, the tracking issue and an expiry date. The
file is validated against ``quarantine.schema.json`` (shipped beside this module); errors
name the file and the line of the offending YAML node. Dates stay strings (the YAML timestamp
type is not resolved), so the schema's ``date`` format checks them. A key given twice in one
mapping is refused (PyYAML would keep the second silently), and of several schema errors the
first in the file is reported.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from shipline.errors import FileLineError
from shipline.gha.summary import brief
from shipline.schema_messages import QUOTED_CHARS, schema_message
from shipline.testmatrix.sharding import module_of
from shipline.yamlbounds import (
    REGISTER,
    REGISTER_CHARACTERS_AT_MOST,
    CountingLoader,
    TooLargeError,
    read_at_most,
    refuse_longer,
    refuse_past,
)
from shipline.yamllines import line_at, repeated_key

SCHEMA_FILE = "quarantine.schema.json"


class RegisterError(FileLineError):
    """A malformed register: names file and line."""

    kind = "quarantine register"


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

    def fingerprint(self) -> str:
        """A checksum of what the register decides (which tests, until when), whatever its
        layout and comments: run and merge must judge with the same one."""
        decided = sorted((e.test, e.expires.isoformat()) for e in self.entries)
        return hashlib.sha256(json.dumps(decided).encode("utf-8")).hexdigest()


class _StringDatesLoader(CountingLoader):
    """SafeLoader without the timestamp type: ``2026-01-31`` stays the string it is."""

    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML's own class-level table
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


class _LocatingLoader(_StringDatesLoader):
    """Composes each alias as a copy of its anchor's node, placed where the alias is written.

    PyYAML hands back the anchor's own node, so an error about ``- *entry`` on line 9 would
    point at the anchor's line. Used to compose only: loading data keeps aliases shared.
    """

    nodes_at_most = REGISTER.nodes

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if not self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)
        alias: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped stub
        anchored = super().compose_node(parent, index)
        if anchored is None:  # an alias always names a node; kept for the type checker
            return None
        located = copy.copy(anchored)  # shallow: its children stay the anchor's own
        located.start_mark, located.end_mark = alias.start_mark, alias.end_mark
        return located


@cache
def schema() -> dict[str, Any]:
    text = resources.files("shipline.testmatrix").joinpath(SCHEMA_FILE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def load(path: Path, display: str) -> Register:
    try:
        text = read_at_most(path, REGISTER_CHARACTERS_AT_MOST)
    except (OSError, UnicodeDecodeError) as error:
        raise RegisterError(display, None, f"cannot be read: {error}") from None
    return parse(text, display)


def parse(text: str, display: str) -> Register:
    try:
        refuse_longer(text, REGISTER_CHARACTERS_AT_MOST)
        with _yaml_errors(display):
            node = yaml.compose(text, Loader=_LocatingLoader)
        if node is None:
            raise RegisterError(display, 1, "is empty: expected 'version: 1' and 'tests:'")
        refuse_past([node], REGISTER)  # before loading, which copies what << names as it goes
    except TooLargeError as error:
        raise RegisterError(display, None, f"{error}: refused") from None
    with _yaml_errors(display):
        data = yaml.load(text, Loader=_StringDatesLoader)  # noqa: S506 - a SafeLoader subclass
    _refuse_repeated_keys(node, display)
    _validate(data, node, display)
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(data["tests"]):
        line = line_at(node, ["tests", index])
        if item["id"] in seen:
            raise RegisterError(
                display,
                line,
                f"{brief(item['id'], QUOTED_CHARS)} is listed twice (first on line {seen[item['id']]})",
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


@contextmanager
def _yaml_errors(display: str) -> Iterator[None]:
    """PyYAML's errors as the register's, on the line they name."""
    try:
        yield
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise RegisterError(
            display, mark.line + 1 if mark else None, f"not valid YAML: {error.problem}"
        ) from None
    except (yaml.YAMLError, ValueError) as error:  # ValueError: a tag's value, !!int abc
        raise RegisterError(display, None, f"not valid YAML: {error}") from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise RegisterError(display, None, "nests too deeply: refused") from None


def _refuse_repeated_keys(node: yaml.Node, display: str) -> None:
    repeat = repeated_key(node)
    if repeat is not None:
        first, again = repeat
        raise RegisterError(
            display,
            again.start_mark.line + 1,
            f"key {brief(repr(again.value), QUOTED_CHARS)} is given twice (first on line "
            f"{first.start_mark.line + 1})",
        )


def _validate(data: Any, node: yaml.Node, display: str) -> None:
    """Check ``data`` against the schema; the error reported is the first in the file."""
    # the test extra's dependency, imported only when a register is given; it ships no types
    import jsonschema  # type: ignore[import-untyped]

    validator = jsonschema.Draft202012Validator(
        schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    located = sorted(
        (
            (
                line_at(node, list(e.absolute_path)),
                _path_order(e.absolute_path),
                # on one entry, a key that is not allowed first: a misspelt key ("expiry")
                # also makes the one it meant missing, and only this error names the typo
                e.validator != "additionalProperties",
                e,
            )
            for e in validator.iter_errors(data)
        ),
        key=lambda found: found[:3],
    )
    if located:
        line, _, _, first = located[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        more = f" (and {len(located) - 1} more problem(s))" if len(located) > 1 else ""
        raise RegisterError(display, line, f"{where}: {_message(first)}{more}")


def _message(error: Any) -> str:
    """jsonschema's message, except for a pattern: its regex says less than the field's
    description in the schema."""
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    if error.validator == "pattern" and description:
        return f"got {brief(repr(error.instance), QUOTED_CHARS)}; expected: {description}"
    return schema_message(error)


def _path_order(path: Iterable[str | int]) -> tuple[tuple[int, str], ...]:
    """A sort key for error paths on one line: list indexes as numbers (2 before 10)."""
    return tuple((step, "") if isinstance(step, int) else (-1, step) for step in path)


def ready_to_release(
    register: Register, held: Mapping[str, int], runs: int, today: dt.date
) -> list[Entry]:
    """Quarantined tests that passed ``runs`` merged runs in a row while quarantined.

    ``held`` is each test's count of such runs (``durations.TestHistory.held``): passes from
    before the entry was added do not show that the fix has held.
    """
    return [e for e in register.active(today).values() if held.get(e.test, 0) >= runs]


def holding_nothing(
    register: Register, tests: Iterable[str], today: dt.date, within: str = ""
) -> list[tuple[Entry, str]]:
    """Active entries that can hold no test, each with why: ids match whole node ids, as pytest
    prints them. An entry that is only the beginning of some (a class, a module, a parametrized
    test without its parameters), or that is written with a wildcard, a leading ``./`` or a
    ``\\`` in its path, is a mistake; one that merely names no test of this layer may be
    another layer's. ``within`` says where ``tests`` come from when they are not all of the
    run's (" of this shard")."""
    collected = set(tests)
    found = []
    for entry in register.active(today).values():
        if entry.test in collected:
            continue
        covered = sum(1 for t in collected if t.startswith((entry.test + "::", entry.test + "[")))
        if covered:
            found.append(
                (entry, f"is the beginning of {covered} test id(s){within}, no test id itself")
            )
        elif "*" in entry.test or "?" in entry.test:
            found.append((entry, "matches no test: ids are matched whole, without wildcards"))
        elif entry.test.startswith("./"):
            found.append((entry, "matches no test: write ids as pytest prints them, without ./"))
        elif "\\" in module_of(entry.test):
            found.append((entry, "matches no test: pytest prints a test's path with /, not \\"))
    return found


def naming_missing_files(
    register: Register, tests: Iterable[str], project: Path, today: dt.date
) -> list[tuple[Entry, str]]:
    """Active entries whose test's file (the id up to its first ``::``) does not exist under
    ``project``, pytest's rootdir, each with that file: the test was deleted or moved.

    Only when the file of some test of this run exists there: else the ids are relative to
    another directory (merge run without a checkout, another rootdir) and every file would
    look missing. An entry whose file exists stays silent, even with no test of this run (it
    may be another layer's); one that ``holding_nothing`` explains is left to it.
    """
    collected = set(tests)
    if not any((project / module_of(test)).exists() for test in collected):
        return []
    explained = {entry.test for entry, _ in holding_nothing(register, collected, today)}
    found = []
    for entry in register.active(today).values():
        if entry.test in collected or entry.test in explained:
            continue
        if not (project / module_of(entry.test)).exists():
            found.append((entry, module_of(entry.test)))
    return found


def naming_no_collected_test(
    register: Register, tests: Iterable[str], deselected: Iterable[str], today: dt.date
) -> list[tuple[Entry, str]]:
    """Active entries naming no test of a file that pytest collected tests from, each with that
    file: with the tests -m, -k and plugins deselected counted in (another layer's), the test
    was renamed or deleted, or its parameters changed. One that ``holding_nothing`` explains is
    left to it; a plugin that drops tests without deselecting them hides them from this."""
    known = {*tests, *deselected}
    of_file: dict[str, list[str]] = {}
    for test in known:
        of_file.setdefault(module_of(test), []).append(test)
    unknown = [
        entry
        for entry in register.active(today).values()
        if entry.test not in known and module_of(entry.test) in of_file
    ]
    # only the ids of those files: a register of stale entries against a suite of 30,000
    # deselected tests would take seconds otherwise
    beside = [test for file in {module_of(e.test) for e in unknown} for test in of_file[file]]
    explained = {entry.test for entry, _ in holding_nothing(register, beside, today)}
    return [(entry, module_of(entry.test)) for entry in unknown if entry.test not in explained]
