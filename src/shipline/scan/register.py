"""The exceptions register: one YAML file of accepted risks, checked against a shipped schema.

A register that is not valid YAML or does not fit the schema is bad input (exit 2); the
error names the file and the line of the offending entry, so it can be fixed in one go.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, cast

import yaml

from shipline import yamlbounds
from shipline.errors import UsageError
from shipline.findings import Finding
from shipline.schema_messages import schema_message

SCHEMA_PATH = Path(__file__).with_name("exceptions.schema.json")

JsonPath = tuple[str | int, ...]


class RegisterError(UsageError):
    """The register cannot be read; the message starts with ``file:line``."""


@dataclass(frozen=True)
class ExceptionEntry:
    id: str
    owner: str
    expires: date
    line: int
    justification: str = ""
    package: str | None = None
    path: str | None = None
    tool: str | None = None

    def expired(self, today: date) -> bool:
        return today > self.expires

    @property
    def justified(self) -> bool:
        return bool(self.justification.strip())

    def matches(self, finding: Finding) -> bool:
        if finding.rule_id.lower() != self.id.lower():
            return False
        if self.tool is not None and finding.tool != self.tool:
            return False
        if self.package is not None and (finding.package or "").lower() != self.package.lower():
            return False
        return self.path is None or _path_in_scope(finding, self.path)

    def describe(self) -> str:
        scope = [f"package {self.package}"] if self.package else []
        scope += [f"path {self.path}"] if self.path else []
        scope += [f"tool {self.tool}"] if self.tool else []
        return self.id + (f" ({', '.join(scope)})" if scope else "")


def _path_in_scope(finding: Finding, scope: str) -> bool:
    if finding.location is None:
        return False
    path = finding.location.path
    pattern = scope.rstrip("/")
    return path == pattern or path.startswith(pattern + "/") or fnmatch.fnmatchcase(path, scope)


class _BoundedLoader(yamlbounds.CountingLoader):
    nodes_at_most = yamlbounds.REGISTER.nodes


@cache
def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def load_register(path: Path, shown_as: str) -> list[ExceptionEntry]:
    """Entries of the register at ``path``; errors name it as ``shown_as``."""
    import jsonschema  # type: ignore[import-untyped]  # the scan extra's dependency; imported only when a register is used

    try:
        text = yamlbounds.read_at_most(path, yamlbounds.REGISTER_CHARACTERS_AT_MOST)
    except (OSError, UnicodeDecodeError) as error:
        raise RegisterError(f"{shown_as}: cannot read the exceptions register: {error}") from None
    try:
        yamlbounds.refuse_longer(text, yamlbounds.REGISTER_CHARACTERS_AT_MOST)
        root = yaml.compose(text, Loader=_BoundedLoader)
        if root is not None:
            yamlbounds.refuse_past([root], yamlbounds.REGISTER)
        lines: dict[JsonPath, int] = {}
        document = _plain(root, (), lines) if root is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        raise RegisterError(
            f"{shown_as}:{line}: not valid YAML: {error.problem or error}"
        ) from None
    except yaml.YAMLError as error:  # a character YAML does not allow: the message says where
        raise RegisterError(f"{shown_as}: not valid YAML: {error}") from None
    except yamlbounds.TooLargeError as error:
        raise RegisterError(f"{shown_as}: the exceptions register {error}: refused") from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise RegisterError(f"{shown_as}: the exceptions register nests too deeply") from None
    validator = jsonschema.Draft202012Validator(
        load_schema(), format_checker=jsonschema.FormatChecker()
    )
    errors = sorted(
        validator.iter_errors(document), key=lambda e: _line_of(tuple(e.absolute_path), lines)
    )
    if errors:
        first = errors[0]
        where = tuple(first.absolute_path)
        field = "/".join(map(str, where)) or "(top level)"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise RegisterError(
            f"{shown_as}:{_line_of(where, lines)}: {field}: {schema_message(first)}{more}"
        )
    # The schema guarantees the shape from here on.
    items: list[dict[str, Any]] = cast(dict[str, Any], document)["exceptions"]
    return [_entry(item, lines[("exceptions", index)]) for index, item in enumerate(items)]


def _entry(item: dict[str, Any], line: int) -> ExceptionEntry:
    return ExceptionEntry(
        id=item["id"],
        owner=item["owner"],
        expires=date.fromisoformat(item["expires"]),
        line=line,
        justification=item.get("justification", ""),
        package=item.get("package"),
        path=item.get("path"),
        tool=item.get("tool"),
    )


def _line_of(path: JsonPath, lines: dict[JsonPath, int]) -> int:
    """The line of the value at ``path``, or of its nearest ancestor that has one."""
    for length in range(len(path), -1, -1):
        if path[:length] in lines:
            return lines[path[:length]]
    return 1


def _plain(node: yaml.Node, path: JsonPath, lines: dict[JsonPath, int]) -> Any:
    """JSON-like data from a YAML node, remembering each value's line.

    Dates stay text (the schema checks their format) so the register means the same in
    YAML and in JSON.
    """
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            mapping[key] = _plain(value_node, (*path, key), lines)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*path, index), lines) for index, item in enumerate(node.value)]
    tag = node.tag.rsplit(":", 1)[-1]
    if tag == "null":
        return None
    if tag in {"int", "float", "bool"}:
        return _SCALARS.construct_object(node)  # from the node's own text, never parsed again
    return str(node.value)


# the loader's construction: its one-line errors for a value its tag cannot hold
_SCALARS = _BoundedLoader("")
