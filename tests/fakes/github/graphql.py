"""Checks GraphQL mutations and their answers against GitHub's schema (@octokit/graphql-schema).

Only the shape the clients here send is understood: one mutation with ``$input`` and a
selection set. The input is checked field by field against the input object type (required
fields, unknown fields, scalar and enum values) and the answer against the selection.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from tests.paths import NPM_MODULES

SCHEMA_FILE = NPM_MODULES / "@octokit" / "graphql-schema" / "schema.json"
_MUTATION = re.compile(
    r"^\s*mutation(?:\s+\w+)?\s*\(\s*\$input\s*:\s*(\w+)!\s*\)\s*\{\s*(\w+)\s*\(\s*input\s*:\s*\$input\s*\)\s*(\{.*\})\s*\}\s*$",
    re.S,
)
_STRING_SCALARS = {
    "String",
    "ID",
    "GitObjectID",
    "GitRefname",
    "URI",
    "DateTime",
    "Base64String",
    "HTML",
}


@cache
def types() -> dict[str, dict[str, Any]]:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))["__schema"]
    return {t["name"]: t for t in schema["types"]}


def _named(type_ref: dict[str, Any]) -> str:
    while type_ref.get("ofType"):
        type_ref = type_ref["ofType"]
    return str(type_ref["name"])


def parse_selection(text: str) -> dict[str, Any]:
    tokens = re.findall(r"[A-Za-z_]\w*|[{}]", text)
    position = 0

    def block() -> dict[str, Any]:
        nonlocal position
        assert tokens[position] == "{"
        position += 1
        fields: dict[str, Any] = {}
        while tokens[position] != "}":
            name = tokens[position]
            position += 1
            fields[name] = block() if position < len(tokens) and tokens[position] == "{" else None
        position += 1
        return fields

    return block()


def check_request(
    query: str, variables: dict[str, Any]
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(mutation name, input, selection); raises ValueError listing every problem."""
    match = _MUTATION.match(query)
    if match is None:
        raise ValueError(f"not a single-mutation document this fake understands: {query[:200]}")
    declared, name, selection_text = match.groups()
    mutation_type = types()[types()["Mutation"]["name"]] if "Mutation" in types() else None
    if mutation_type is None:
        raise ValueError("schema has no Mutation type")
    field = next((f for f in mutation_type["fields"] if f["name"] == name), None)
    if field is None:
        raise ValueError(f"Mutation has no field {name}")
    argument = next((a for a in field["args"] if a["name"] == "input"), None)
    if (
        argument is None
        or _named(argument["type"]) != declared
        or argument["type"]["kind"] != "NON_NULL"
    ):
        raise ValueError(f"{name}(input:) is not declared as {declared}!")
    problems: list[str] = []
    _check_value(variables.get("input"), argument["type"], "input", problems)
    selection = parse_selection(selection_text)
    _check_selection(selection, _named(field["type"]), name, problems)
    if problems:
        raise ValueError("; ".join(problems))
    return name, variables["input"], selection


def _check_value(value: Any, type_ref: dict[str, Any], where: str, problems: list[str]) -> None:
    if type_ref["kind"] == "NON_NULL":
        if value is None:
            problems.append(f"{where} is required")
            return
        _check_value(value, type_ref["ofType"], where, problems)
        return
    if value is None:
        return
    if type_ref["kind"] == "LIST":
        if not isinstance(value, list):
            problems.append(f"{where} must be a list")
            return
        for index, item in enumerate(value):
            _check_value(item, type_ref["ofType"], f"{where}[{index}]", problems)
        return
    named = types()[type_ref["name"]]
    kind = named["kind"]
    if kind == "INPUT_OBJECT":
        if not isinstance(value, dict):
            problems.append(f"{where} must be an object")
            return
        fields = {f["name"]: f for f in named["inputFields"]}
        problems.extend(
            f"{where}.{key} is not a field of {named['name']}" for key in value if key not in fields
        )
        for field_name, spec in fields.items():
            if (
                spec["type"]["kind"] == "NON_NULL"
                and spec.get("defaultValue") is None
                and field_name not in value
            ):
                problems.append(f"{where}.{field_name} is required")
            elif field_name in value:
                _check_value(value[field_name], spec["type"], f"{where}.{field_name}", problems)
    elif kind == "ENUM":
        allowed = {v["name"] for v in named["enumValues"]}
        if value not in allowed:
            problems.append(f"{where} must be one of {sorted(allowed)}")
    elif named["name"] == "Boolean" and not isinstance(value, bool):
        problems.append(f"{where} must be a Boolean")
    elif named["name"] == "Int" and (not isinstance(value, int) or isinstance(value, bool)):
        problems.append(f"{where} must be an Int")
    elif named["name"] in _STRING_SCALARS and not isinstance(value, str):
        problems.append(f"{where} must be a string ({named['name']})")


def _check_selection(
    selection: dict[str, Any], type_name: str, where: str, problems: list[str]
) -> None:
    fields = {f["name"]: f for f in types()[type_name].get("fields") or []}
    for name, sub in selection.items():
        if name not in fields:
            problems.append(f"{where}: {type_name} has no field {name}")
            continue
        target = types()[_named(fields[name]["type"])]
        if target["kind"] in ("OBJECT", "INTERFACE", "UNION") and sub is None:
            problems.append(f"{where}.{name} needs a selection")
        elif sub is not None:
            _check_selection(sub, target["name"], f"{where}.{name}", problems)


def check_answer(
    data: Any, selection: dict[str, Any], type_name: str, where: str = "data"
) -> list[str]:
    """The answer has exactly the selected fields, each nullable only where the schema says."""
    problems: list[str] = []
    fields = {f["name"]: f for f in types()[type_name].get("fields") or []}
    if not isinstance(data, dict):
        return [f"{where} must be an object"]
    for name in data:
        if name not in selection:
            problems.append(f"{where}.{name} was not selected")
    for name, sub in selection.items():
        value = data.get(name)
        type_ref = fields[name]["type"]
        if value is None:
            if type_ref["kind"] == "NON_NULL":
                problems.append(f"{where}.{name} must not be null")
            continue
        if sub is not None:
            problems += check_answer(value, sub, _named(type_ref), f"{where}.{name}")
    return problems


def payload_type(mutation: str) -> str:
    field = next(f for f in types()["Mutation"]["fields"] if f["name"] == mutation)
    return _named(field["type"])
