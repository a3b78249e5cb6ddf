"""Check a JSON response against the pinned contract, strictly enough to catch a renamed field.

Only the schema keywords FastAPI emits for this service are understood; anything else fails the
test, so a new construct in the contract cannot slip through unchecked.
"""

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

SERVICE_ROOT = Path(__file__).resolve().parent.parent
CONTRACT_PATH = SERVICE_ROOT / "contract" / "openapi.json"

JsonSchema = dict[str, Any]

# Keywords that describe or constrain inputs and say nothing about a response's shape.
_ANNOTATIONS = {"title", "description", "examples", "default", "pattern", "minimum", "maximum"}
_ANNOTATIONS |= {"minLength", "maxLength"}
_UNDERSTOOD = _ANNOTATIONS | {"$ref", "type", "properties", "required", "items", "enum", "const"}
_UNDERSTOOD |= {"format", "anyOf", "additionalProperties"}


def load_contract() -> JsonSchema:
    contract: JsonSchema = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    return contract


def documented_responses(contract: JsonSchema) -> set[tuple[str, str, int]]:
    return {
        (method.upper(), path, int(status))
        for path, operations in contract["paths"].items()
        for method, operation in operations.items()
        for status in operation["responses"]
    }


def response_schema(contract: JsonSchema, method: str, path: str, status: int) -> JsonSchema:
    responses = contract["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} -> {status} is not in the contract"
    schema: JsonSchema = responses[str(status)]["content"]["application/json"]["schema"]
    return schema


def assert_matches(contract: JsonSchema, schema: JsonSchema, value: Any, where: str = "$") -> None:
    unknown = set(schema) - _UNDERSTOOD
    assert not unknown, f"{where}: the checker does not understand {sorted(unknown)}"
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        assert_matches(contract, contract["components"]["schemas"][name], value, where)
        return
    if "anyOf" in schema:
        failures = []
        for option in schema["anyOf"]:
            try:
                assert_matches(contract, option, value, where)
            except AssertionError as failure:
                failures.append(str(failure))
            else:
                return
        raise AssertionError(f"{where}: matches no anyOf option: {failures}")
    if "const" in schema:
        assert value == schema["const"], f"{where}: {value!r} != {schema['const']!r}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']!r}"
    _assert_type(contract, schema, value, where)


def _assert_type(contract: JsonSchema, schema: JsonSchema, value: Any, where: str) -> None:
    kind = schema.get("type")
    if kind == "object":
        assert isinstance(value, dict), f"{where}: expected an object, got {value!r}"
        properties: dict[str, JsonSchema] = schema.get("properties", {})
        # Stricter than JSON Schema on purpose: an object that declares its properties may carry
        # no others. A renamed field then shows up as one undocumented and one missing field,
        # which is exactly the drift this check exists for. Property-less objects are free-form.
        extra: JsonSchema | bool = schema.get("additionalProperties", not properties)
        undocumented = sorted(set(value) - set(properties))
        assert extra is not False or not undocumented, (
            f"{where}: fields not in the contract: {undocumented}"
        )
        missing = sorted(set(schema.get("required", [])) - set(value))
        assert not missing, f"{where}: required fields missing: {missing}"
        for key, item in value.items():
            sub_schema = properties.get(key, extra)
            if isinstance(sub_schema, dict):
                assert_matches(contract, sub_schema, item, f"{where}.{key}")
    elif kind == "array":
        assert isinstance(value, list), f"{where}: expected an array, got {value!r}"
        for index, item in enumerate(value):
            assert_matches(contract, schema.get("items", {}), item, f"{where}[{index}]")
    elif kind == "string":
        assert isinstance(value, str), f"{where}: expected a string, got {value!r}"
        _assert_format(schema.get("format"), value, where)
    elif kind == "integer":
        assert isinstance(value, int), f"{where}: expected an integer, got {value!r}"
        assert not isinstance(value, bool), f"{where}: expected an integer, got {value!r}"
    elif kind is not None:
        raise AssertionError(f"{where}: the checker does not understand type {kind!r}")


def _assert_format(fmt: str | None, value: str, where: str) -> None:
    if fmt == "date-time":
        parsed = datetime.fromisoformat(value)
        assert parsed.tzinfo is not None, f"{where}: {value!r} has no time zone"
    elif fmt == "uuid":
        UUID(value)
    elif fmt is not None:
        raise AssertionError(f"{where}: the checker does not understand format {fmt!r}")
