"""GitHub's official OpenAPI description (npm @octokit/openapi) as response validators.

The description is OpenAPI 3.0 (``nullable``), so it is converted once to plain JSON Schema
and cached under .cache/, which keeps every test session's start-up short.
"""

from __future__ import annotations

import copy
import json
import os
import re
import threading
from functools import cache
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tests.paths import NPM_MODULES, ROOT

SPEC_FILE = NPM_MODULES / "@octokit" / "openapi" / "generated" / "api.github.com.json"
CACHE_FILE = ROOT / ".cache" / "github-openapi-jsonschema.json"
URI = "urn:github-openapi"
_LOCK = threading.Lock()


def _convert(node: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` becomes JSON Schema's explicit null."""
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _convert(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        if "type" in converted and "enum" not in converted:
            converted["type"] = [converted["type"], "null"]
        else:
            return {"anyOf": [converted, {"type": "null"}]}
    return converted


@cache
def description() -> dict[str, Any]:
    with _LOCK:
        stamp = str(SPEC_FILE.stat().st_mtime_ns)
        if CACHE_FILE.is_file():
            cached = json.loads(CACHE_FILE.read_text(encoding="utf-8"))
            if cached.get("x-source-mtime") == stamp:
                return dict(cached)
        if not SPEC_FILE.is_file():
            raise FileNotFoundError(f"{SPEC_FILE} is missing: run `npm ci --prefix .ci/npm`")
        document = _convert(json.loads(SPEC_FILE.read_text(encoding="utf-8")))
        document["x-source-mtime"] = stamp
        CACHE_FILE.parent.mkdir(parents=True, exist_ok=True)
        # Written aside then renamed, so parallel test workers never read half a file.
        partial = CACHE_FILE.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(document), encoding="utf-8")
        partial.replace(CACHE_FILE)
        return dict(document)


@cache
def _registry() -> Registry[Any]:
    return Registry().with_resource(
        URI, Resource.from_contents(description(), default_specification=DRAFT7)
    )


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def _response(method: str, template: str, status: int) -> tuple[dict[str, Any], str] | None:
    """The response object for an operation and status, with its JSON pointer."""
    operation = description()["paths"][template][method.lower()]
    response = operation["responses"].get(str(status))
    if response is None:
        return None
    pointer = "#/" + _pointer("paths", template, method.lower(), "responses", str(status))
    if "$ref" in response:
        pointer = response["$ref"]
        response = _resolve(pointer)
    return response, pointer


def _resolve(pointer: str) -> Any:
    node: Any = description()
    for part in pointer.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def validate(method: str, template: str, status: int, body: Any) -> list[str]:
    """Problems of ``body`` as the response to ``method template`` with ``status``."""
    found = _response(method, template, status)
    if found is None and status >= 400:
        # GitHub answers 401 (and rate limits) on every route without documenting it on each;
        # such answers follow its shared error shape.
        return _errors(
            f"{URI}#/components/schemas/basic-error", body, f"{method} {template} {status}"
        )
    if found is None:
        return [f"{method} {template} documents no {status} response"]
    response, pointer = found
    content = response.get("content")
    if not content:
        return (
            [] if body in (None, b"", "") else [f"{method} {template} {status} documents no body"]
        )
    media = "application/json" if "application/json" in content else next(iter(content))
    return _errors(
        f"{URI}{pointer}/content/{_pointer(media)}/schema", body, f"{method} {template} {status}"
    )


def validate_request(method: str, template: str, body: Any) -> list[str]:
    """Problems of a client's JSON body against the operation's documented request body."""
    operation = description()["paths"][template][method.lower()]
    request = operation.get("requestBody")
    if request is None:
        return [] if body is None else [f"{method} {template} takes no body"]
    pointer = "#/" + _pointer("paths", template, method.lower(), "requestBody")
    if "$ref" in request:
        pointer, request = request["$ref"], _resolve(request["$ref"])
    if body is None:
        return [f"{method} {template} needs a body"] if request.get("required") else []
    media = (
        "application/json"
        if "application/json" in request["content"]
        else next(iter(request["content"]))
    )
    reference = f"{URI}{pointer}/content/{_pointer(media)}/schema"
    return _errors(reference, body, f"request {method} {template}")


def _errors(reference: str, body: Any, label: str) -> list[str]:
    validator = jsonschema.Draft7Validator({"$ref": reference}, registry=_registry())
    return [
        f"{label}: {'/'.join(map(str, error.absolute_path))}: {error.message[:300]}"
        for error in validator.iter_errors(body)
    ]


def example(method: str, template: str, status: int) -> Any:
    """A deep copy of the description's own example for that response (a template to fill)."""
    found = _response(method, template, status)
    if found is None:
        raise KeyError(f"{method} {template} {status}")
    content = found[0]["content"]
    media = "application/json" if "application/json" in content else next(iter(content))
    examples = content[media]["examples"]
    chosen = next(iter(examples.values()))
    if "$ref" in chosen:
        chosen = _resolve(chosen["$ref"])
    return copy.deepcopy(chosen["value"])


def rebase_urls(value: Any, api: str, web: str) -> Any:
    """The example's api.github.com / github.com URLs pointed at the fake."""
    if isinstance(value, dict):
        return {key: rebase_urls(item, api, web) for key, item in value.items()}
    if isinstance(value, list):
        return [rebase_urls(item, api, web) for item in value]
    if isinstance(value, str):
        value = value.replace("https://api.github.com", api)
        return re.sub(r"^https://github\.com", web, value)
    return value
