"""Policy gates: Rego policies (OPA-compatible, evaluated by regopy) over Dockerfiles, the
image configuration and Kubernetes manifests.

Every ``*.rego`` file of the shipped directory and of the user's directories is loaded into
one interpreter; each package under ``shipline.policies`` contributes its ``deny`` set.
Policies are compiled while inputs are checked, so a policy that does not compile stops the
action before any scanner runs (exit 2, naming the file).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shipline.errors import ToolFailedError, UsageError
from shipline.findings import Finding, Location
from shipline.scan.reports import POLICY, ReportError, parse_severity
from shipline.yamlbounds import Bounds, CountingLoader, TooLargeError, refuse_past
from shipline.yamllines import line_at

SHIPPED_POLICIES = Path(__file__).with_name("policies")
# What a manifest's aliases may copy beyond its own nodes and characters: anchors for repeated
# blocks are common, aliases of aliases that name billions (YAML bombs) are not. A CRD's
# schema nests some tens of levels; recursive walks of the data stop near a thousand.
ALIAS_COPY_NODES = 100_000
ALIAS_COPY_CHARACTERS = 10_000_000
MANIFEST_DEPTH = 200
QUERY = "data.shipline.policies"
WORKLOAD_TEMPLATE_KINDS = {
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "Rollout",
    "ReplicationController",
}


class PolicyError(UsageError):
    """A policy that does not compile: bad input, exit 2."""


@dataclass(frozen=True)
class Document:
    """One input for the policies and how to place its findings."""

    input: dict[str, Any]
    path: str  # workspace-relative file, or the image reference
    node: yaml.Node | None = None  # a manifest's YAML node, to turn a field path into a line


class PolicySet:
    def __init__(
        self, directories: Sequence[Path], shown: Mapping[Path, str] | None = None
    ) -> None:
        import regopy  # type: ignore[import-untyped]  # the scan extra's dependency

        self.files = [
            file for directory in directories for file in sorted(directory.rglob("*.rego"))
        ]
        if not self.files:
            raise PolicyError("no *.rego policy found in " + ", ".join(map(str, directories)))
        self._regopy = regopy
        self._shown = dict(shown or {})
        self._interpreter = regopy.Interpreter()
        for file in self.files:
            try:
                self._interpreter.add_module(self._name(file), file.read_text(encoding="utf-8"))
            except regopy.RegoError as error:
                raise PolicyError(self._compile_message(str(error))) from None
        self._query({})  # compiles every module now, while inputs are being checked

    def _name(self, file: Path) -> str:
        return self._shown.get(file, str(file))

    def _query(self, document: Mapping[str, Any]) -> Any:
        self._interpreter.set_input_term(json.dumps(document))
        try:
            output = self._interpreter.query(QUERY)
        except self._regopy.RegoError as error:
            raise PolicyError(self._compile_message(str(error))) from None
        except ValueError as error:  # regopy could not read its own output back
            raise ToolFailedError(
                f"the policies produced output regopy cannot read: {error}"
            ) from None
        text = str(output)
        if not output.ok():
            raise PolicyError(self._compile_message(text))
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ToolFailedError(
                f"regopy returned output that is not JSON: {text[:200]}"
            ) from None

    def _compile_message(self, detail: str) -> str:
        named = [self._name(file) for file in self.files if self._name(file) in detail]
        culprits = ", ".join(named) or "one of " + ", ".join(self._name(f) for f in self.files)
        first = next((line.strip() for line in detail.splitlines() if "errormsg" in line), "")
        reason = (
            re.sub(r"^\(errormsg \d+:|\)+$", "", first).strip() or " ".join(detail.split())[:200]
        )
        return f"policy {culprits} does not compile: {reason}"

    def evaluate(self, documents: Iterable[Document]) -> list[Finding]:
        findings: list[Finding] = []
        for document in documents:
            result = self._query(document.input)
            for violation in _violations(result):
                findings.append(_finding(violation, document))
        return findings


def _violations(result: Any) -> list[Mapping[str, Any]]:
    expressions = result.get("expressions") if isinstance(result, Mapping) else None
    if not expressions:
        return []  # no package under shipline.policies matched at all
    found: list[Mapping[str, Any]] = []
    packages = expressions[0]
    stack = [packages] if isinstance(packages, Mapping) else []
    while stack:
        package = stack.pop()
        for key, value in package.items():
            if key == "deny" and isinstance(value, list):
                found.extend(v for v in value if isinstance(v, Mapping))
            elif isinstance(value, Mapping):
                stack.append(value)
    return found


def _finding(violation: Mapping[str, Any], document: Document) -> Finding:
    rule_id = str(violation.get("id") or "policy")
    try:
        severity = parse_severity(violation.get("severity", "HIGH"), f"policy {rule_id}")
    except ReportError as error:
        raise ToolFailedError(str(error)) from None
    line = violation.get("line")
    field_path = violation.get("path")
    if document.node is not None and isinstance(field_path, list):
        line = line_at(document.node, field_path)
    return Finding(
        tool=POLICY,
        rule_id=rule_id,
        message=str(violation.get("msg") or rule_id),
        level=severity.level,
        severity=severity,
        location=Location(document.path, line if isinstance(line, int) else None),
    )


def kubernetes_documents(file: Path, shown_as: str) -> list[Document]:
    """One document per Kubernetes object in a (multi-document) YAML file."""
    try:
        text = file.read_text(encoding="utf-8")
        loader = CountingLoader(text)
        try:
            nodes = []
            while loader.check_node():  # as yaml.compose_all, keeping the loader's count
                nodes.append(loader.get_node())
        finally:
            loader.dispose()
        # the policy engine reads each document as JSON, aliases copied: one budget a file
        bounds = Bounds(
            loader.composed + ALIAS_COPY_NODES, len(text) + ALIAS_COPY_CHARACTERS, MANIFEST_DEPTH
        )
        refuse_past((node for node in nodes if node is not None), bounds)
        objects = [(node, _object(node)) for node in nodes if node is not None]
    except (yaml.YAMLError, OSError, UnicodeDecodeError, RecursionError) as error:
        raise ToolFailedError(f"{shown_as} is not readable YAML: {error}") from None
    except TooLargeError as error:
        raise ToolFailedError(f"{shown_as}: {_beyond(error)}: refused") from None
    except (TypeError, ValueError) as error:  # .nan: JSON cannot hold it
        raise ToolFailedError(f"{shown_as} holds a value JSON cannot: {error}") from None
    documents = []
    for node, manifest in (pair for whole in objects for pair in _listed(*whole)):
        if not isinstance(manifest, dict) or "kind" not in manifest or "apiVersion" not in manifest:
            continue
        documents.append(
            Document(
                {"kind": "kubernetes", "path": shown_as, "object": manifest, "pod": _pod(manifest)},
                shown_as,
                node,
            )
        )
    return documents


def _listed(node: yaml.Node, manifest: Any) -> list[tuple[yaml.Node, Any]]:
    """The objects of a list (``kind: List`` with ``items``, as ``kubectl get -o yaml``
    writes them; kubectl applies each), each with its node; any other document as it is."""
    items = manifest.get("items") if isinstance(manifest, dict) else None
    if not (str(manifest.get("kind", "")).endswith("List") and isinstance(items, list)):
        return [(node, manifest)]
    nodes: list[yaml.Node] = next(
        (v.value for k, v in node.value if k.value == "items" and isinstance(v, yaml.SequenceNode)),
        [],
    )
    located = nodes if len(nodes) == len(items) else [node] * len(items)  # a merged list
    return [pair for item in zip(located, items, strict=True) for pair in _listed(*item)]


class _ManifestLoader(CountingLoader):
    """A manifest's data as Kubernetes reads it, which JSON can hold: a date (an unquoted
    ``2024-01-01``) and ``!!binary`` stay the text they are, a ``!!set`` is a mapping, and a
    tag Kubernetes does not know (``!vault x``) is read as if it were not there: a document
    the policies could not read would pass them unseen."""


def _as_text(loader: _ManifestLoader, node: yaml.Node) -> str:
    return loader.construct_yaml_str(node)


def _untagged(loader: _ManifestLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    # as if untagged: `privileged: !note true` is still true to the policies
    tag = loader.resolve(yaml.ScalarNode, node.value, (True, False))  # type: ignore[no-untyped-call]
    return loader.construct_object(yaml.ScalarNode(tag, node.value, node.start_mark))


_ManifestLoader.add_constructor("tag:yaml.org,2002:timestamp", _as_text)
_ManifestLoader.add_constructor("tag:yaml.org,2002:binary", _as_text)
_ManifestLoader.add_constructor("tag:yaml.org,2002:set", _untagged)
_ManifestLoader.add_constructor(None, _untagged)


def _object(node: yaml.Node) -> Any:
    """A document's data, refused (ValueError) when JSON cannot hold it."""
    data = _ManifestLoader("").construct_document(node)  # its errors on the file's lines
    json.dumps(data, allow_nan=False)
    return data


def _beyond(error: TooLargeError) -> str:
    copied = {"nodes": ALIAS_COPY_NODES, "characters": ALIAS_COPY_CHARACTERS}
    if error.what in copied:
        return f"its YAML aliases copy more than {copied[error.what]} {error.what}"
    return str(error)


def is_kubernetes_manifest(file: Path) -> bool:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    # anywhere, quoted or not: JSON is YAML too, and kubectl applies it
    return bool(re.search(_API_VERSION, text) and re.search(_KIND, text))


_API_VERSION = re.compile(r"""["']?\bapiVersion["']?\s*:""")
_KIND = re.compile(r"""["']?\bkind["']?\s*:""")


def _pod(manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    kind, spec = manifest.get("kind"), manifest.get("spec")
    if not isinstance(spec, Mapping):
        return None
    path: list[str]
    if kind == "Pod":
        path = ["spec"]
    elif kind in WORKLOAD_TEMPLATE_KINDS:
        path = ["spec", "template", "spec"]
    elif kind == "CronJob":
        path = ["spec", "jobTemplate", "spec", "template", "spec"]
    else:
        return None
    value: Any = manifest
    for step in path:
        value = value.get(step) if isinstance(value, Mapping) else None
    return {"spec": value, "path": path} if isinstance(value, Mapping) else None


def dockerfile_document(file: Path, shown_as: str) -> Document:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ToolFailedError(f"cannot read {shown_as}: {error}") from None
    return Document({"kind": "dockerfile", "path": shown_as, **parse_dockerfile(text)}, shown_as)


def image_document(image: str, config: Mapping[str, Any]) -> Document:
    return Document({"kind": "image-config", "image": image, "config": dict(config)}, image)


_ARG_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::?-[^}]*)?\}?")


def parse_dockerfile(text: str) -> dict[str, Any]:
    """The stages and USER instructions of a Dockerfile, with their lines.

    Build arguments declared before the first FROM are substituted with their defaults,
    as the builder does; a stage whose base is an earlier stage is marked so that image
    policies leave it alone.
    """
    stages: list[dict[str, Any]] = []
    users: list[dict[str, Any]] = []
    global_args: dict[str, str] = {}
    for line_number, instruction, argument in _instructions(text):
        if instruction == "ARG" and not stages:
            name, _, default = argument.partition("=")
            global_args[name.strip()] = default.strip().strip("\"'")
        elif instruction == "FROM":
            words = [w for w in argument.split() if not w.startswith("--")]
            if not words:
                continue
            base = _ARG_REFERENCE.sub(lambda m: global_args.get(m.group(1), m.group(0)), words[0])
            alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            aliases = {s["alias"] for s in stages if s["alias"]}
            stages.append(
                {
                    "base": base,
                    "line": line_number,
                    "alias": alias,
                    "stage_reference": base.lower() in aliases,
                }
            )
        elif instruction == "USER" and stages:
            users.append(
                {
                    "user": argument.split()[0] if argument.split() else "",
                    "line": line_number,
                    "stage": len(stages) - 1,
                }
            )
    return {"stages": stages, "users": users, "final_stage": max(len(stages) - 1, 0)}


def _instructions(text: str) -> Iterable[tuple[int, str, str]]:
    """(first line, INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        joined = " ".join(pending).strip()
        pending = []
        instruction, _, argument = joined.partition(" ")
        yield start, instruction.upper(), argument.strip()
