"""The one-line editors: kustomize ``images:``, Helm values, raw manifests, a generic YAML path.

Each editor finds the scalars that hold the image in the composed node graph, then rewrites
only those characters of the original text (see yamldoc). A value that already holds the
new image yields no edit, which is what makes a rerun write nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from shipline.bump import yamldoc
from shipline.bump.imageref import ImageRef, parse_image
from shipline.bump.yamldoc import TextEdit
from shipline.errors import UsageError


class Format(StrEnum):
    AUTO = "auto"
    KUSTOMIZE = "kustomize"
    HELM = "helm"
    MANIFEST = "manifest"
    YAML_PATH = "yaml-path"


class ValueKind(StrEnum):
    """What a generic YAML path holds: the whole reference, only the tag or only the digest."""

    REFERENCE = "reference"
    TAG = "tag"
    DIGEST = "digest"


# Where each workload kind keeps its pod spec (Argo Rollouts included).
POD_SPEC_PATHS = {
    "Pod": "spec",
    "CronJob": "spec.jobTemplate.spec.template.spec",
    **{
        kind: "spec.template.spec"
        for kind in (
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "ReplicationController",
            "Job",
            "Rollout",
        )
    },
}
CONTAINER_LISTS = ("containers", "initContainers")
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass(frozen=True)
class Target:
    """What to change: the new image, how to find the old one, and the file's format."""

    image: ImageRef
    format: Format = Format.AUTO
    match: str = ""  # the image name as the file spells it; default: the new image's name
    yaml_path: str = ""
    digest_path: str = ""
    container: str = ""
    value: ValueKind = ValueKind.REFERENCE

    @property
    def wanted_name(self) -> str:
        return self.match or self.image.name


@dataclass(frozen=True)
class Change:
    line: int
    field: str
    old: str
    new: str


@dataclass
class EditResult:
    text: str
    format: Format
    old_image: str
    old_version: str
    changes: list[Change] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def edit_config(text: str, source: str, target: Target) -> EditResult:
    """The file's text with the image changed; raises UsageError naming what was not found."""
    documents = yamldoc.compose(text, source)
    if not documents:
        raise UsageError(f"{source} holds no YAML document")
    chosen = (
        target.format if target.format is not Format.AUTO else detect(source, documents, target)
    )
    editor = {
        Format.KUSTOMIZE: _kustomize,
        Format.HELM: _helm,
        Format.MANIFEST: _manifest,
        Format.YAML_PATH: _yaml_path,
    }[chosen]
    return editor(text, source, documents, target)


def detect(source: str, documents: list[Node], target: Target) -> Format:
    name = PurePosixPath(source).name
    if name in KUSTOMIZATION_FILES or any(
        yamldoc.scalar_text(yamldoc.mapping_get(d, "kind")) == "Kustomization" for d in documents
    ):
        return Format.KUSTOMIZE
    if any(
        yamldoc.scalar_text(yamldoc.mapping_get(d, "kind")) in POD_SPEC_PATHS for d in documents
    ):
        return Format.MANIFEST
    if name.startswith("values") and name.endswith((".yaml", ".yml")):
        return Format.HELM
    if target.yaml_path:
        return Format.YAML_PATH
    raise UsageError(
        f"cannot tell the format of {source}: give input 'format' "
        "(kustomize, helm, manifest or yaml-path)"
    )


def names_match(in_file: str, wanted: str) -> bool:
    """Same image name, ignoring Docker Hub's implicit host and a registry prefix on one side."""
    left, right = _normalise(in_file), _normalise(wanted)
    return left == right or left.endswith("/" + right) or right.endswith("/" + left)


def _normalise(name: str) -> str:
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


class _Edits:
    """Collects text edits and the change each one makes, skipping values already right."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.edits: list[TextEdit] = []
        self.changes: list[Change] = []
        self._edited: set[int] = set()

    def set(self, node: Node, value: str, what: str) -> None:
        # A node shared through an anchor is reached once per alias but written once.
        if (isinstance(node, ScalarNode) and node.value == value) or id(node) in self._edited:
            return
        self._edited.add(id(node))
        edit = yamldoc.replace_scalar(self.text, node, value, what)
        self.edits.append(edit)
        old = node.value if isinstance(node, ScalarNode) else ""
        self.changes.append(Change(yamldoc.line_of(self.text, edit.start), what, old, value))

    def rename_key(
        self, key: ScalarNode, new_key: str, value: Node, new_value: str, what: str
    ) -> None:
        """``newTag: v1`` becomes ``digest: sha256:...`` on the same line."""
        self.edits.append(yamldoc.replace_scalar(self.text, key, new_key, what))
        edit = yamldoc.replace_scalar(self.text, value, new_value, what)
        self.edits.append(edit)
        old = f"{key.value}: {yamldoc.scalar_text(value) or ''}"
        self.changes.append(
            Change(yamldoc.line_of(self.text, edit.start), what, old, f"{new_key}: {new_value}")
        )

    def insert_key(self, mapping: MappingNode, key: str, value: str, what: str) -> None:
        """A new ``key: value`` line after the mapping's last entry, at its indentation."""
        if (
            mapping.flow_style
            or not mapping.value
            or not isinstance(mapping.value[-1][1], ScalarNode)
        ):
            raise UsageError(
                f"{what} is missing and its entry is not a plain block; add it by hand"
            )
        indent = mapping.value[0][0].start_mark.column
        last_end = mapping.value[-1][1].end_mark.index
        line_end = self.text.find("\n", last_end)
        rendered = f"{' ' * indent}{key}: {yamldoc.render_like(ScalarNode('', value), value)}\n"
        if line_end == -1:
            position, rendered = len(self.text), "\n" + rendered
        else:
            position = line_end + 1
        self.edits.append(TextEdit(position, position, rendered))
        self.changes.append(
            Change(yamldoc.line_of(self.text, position) + (line_end == -1), what, "", value)
        )

    def result(self, fmt: Format, old_image: str, old_version: str) -> EditResult:
        return EditResult(
            yamldoc.apply_edits(self.text, self.edits), fmt, old_image, old_version, self.changes
        )


def _kustomize(text: str, source: str, documents: list[Node], target: Target) -> EditResult:
    images = next(
        (
            node
            for node in (yamldoc.mapping_get(d, "images") for d in documents)
            if isinstance(node, SequenceNode)
        ),
        None,
    )
    if images is None:
        raise UsageError(f"{source} has no kustomize 'images:' list")
    wanted = target.wanted_name
    entry = next(
        (
            item
            for item in images.value
            if isinstance(item, MappingNode)
            and any(
                text_value is not None and names_match(text_value, wanted)
                for text_value in (
                    yamldoc.scalar_text(yamldoc.mapping_get(item, "name")),
                    yamldoc.scalar_text(yamldoc.mapping_get(item, "newName")),
                )
            )
        ),
        None,
    )
    if entry is None:
        raise UsageError(f"{source} has no 'images:' entry named {wanted}")
    name = yamldoc.scalar_text(yamldoc.mapping_get(entry, "name")) or wanted
    label = f"images[name={name}]"
    current_name = yamldoc.scalar_text(yamldoc.mapping_get(entry, "newName")) or name
    tag_entry = yamldoc.mapping_entry(entry, "newTag")
    digest_entry = yamldoc.mapping_entry(entry, "digest")
    old_tag = yamldoc.scalar_text(tag_entry[1]) if tag_entry else None
    old_digest = yamldoc.scalar_text(digest_entry[1]) if digest_entry else None
    old = ImageRef(current_name, old_tag, old_digest)

    edits = _Edits(text)
    image = target.image
    if image.name != current_name and not names_match(current_name, image.name):
        new_name = yamldoc.mapping_get(entry, "newName")
        if new_name is not None:
            edits.set(new_name, image.name, f"{label}.newName")
        else:
            edits.insert_key(entry, "newName", image.name, f"{label}.newName")
    if image.digest:
        if digest_entry:
            edits.set(digest_entry[1], image.digest, f"{label}.digest")
        elif tag_entry and not image.tag:
            edits.rename_key(tag_entry[0], "digest", tag_entry[1], image.digest, f"{label}.digest")
        else:
            edits.insert_key(entry, "digest", image.digest, f"{label}.digest")
    if image.tag:
        if tag_entry:
            edits.set(tag_entry[1], image.tag, f"{label}.newTag")
        elif digest_entry and not image.digest:
            edits.rename_key(
                digest_entry[0], "newTag", digest_entry[1], image.tag, f"{label}.newTag"
            )
        elif not image.digest:
            edits.insert_key(entry, "newTag", image.tag, f"{label}.newTag")
    return edits.result(Format.KUSTOMIZE, str(old), old.version)


def _helm(text: str, source: str, documents: list[Node], target: Target) -> EditResult:
    image = target.image
    tag_path = target.yaml_path or "image.tag"
    document = documents[0]
    tag_node = (
        yamldoc.resolve_path(document, tag_path) if image.tag or not target.digest_path else None
    )
    if tag_node is None and (image.tag or not target.digest_path):
        raise UsageError(f"YAML path '{tag_path}' was not found in {source}")
    digest_node = None
    if target.digest_path:
        digest_node = yamldoc.resolve_path(document, target.digest_path)
        if digest_node is None:
            raise UsageError(f"YAML path '{target.digest_path}' was not found in {source}")
    if not image.tag and digest_node is None:
        raise UsageError(
            f"image {image} has no tag for '{tag_path}': give input 'digest-path' for a digest"
        )
    parent_path = tag_path.rsplit(".", 1)[0] if "." in tag_path else ""
    parent = yamldoc.resolve_path(document, parent_path) if parent_path else document
    repository = yamldoc.scalar_text(yamldoc.mapping_get(parent, "repository")) if parent else None
    registry = yamldoc.scalar_text(yamldoc.mapping_get(parent, "registry")) if parent else None
    in_file = f"{registry}/{repository}" if registry and repository else repository
    if in_file and not names_match(in_file, target.wanted_name):
        raise UsageError(
            f"{source} sets {parent_path or 'the'} repository to {in_file}, not {target.wanted_name} "
            "(give input 'match' if the file names the image differently)"
        )
    old_tag = yamldoc.scalar_text(tag_node)
    old_digest = yamldoc.scalar_text(digest_node)
    old = ImageRef(in_file or image.name, old_tag or None, old_digest or None)
    edits = _Edits(text)
    if tag_node is not None and image.tag:
        edits.set(tag_node, image.tag, tag_path)
    if digest_node is not None and image.digest:
        edits.set(digest_node, image.digest, target.digest_path)
    return edits.result(Format.HELM, str(old), old.version)


def _manifest(text: str, source: str, documents: list[Node], target: Target) -> EditResult:
    wanted = target.wanted_name
    found: list[tuple[str, Node, ImageRef | None]] = []
    for document in documents:
        kind = yamldoc.scalar_text(yamldoc.mapping_get(document, "kind")) or ""
        if kind not in POD_SPEC_PATHS:
            continue
        workload = yamldoc.scalar_text(yamldoc.resolve_path(document, "metadata.name")) or "?"
        pod_spec = yamldoc.resolve_path(document, POD_SPEC_PATHS[kind])
        for list_name in CONTAINER_LISTS:
            containers = yamldoc.mapping_get(pod_spec, list_name) if pod_spec else None
            if not isinstance(containers, SequenceNode):
                continue
            for container in containers.value:
                name = yamldoc.scalar_text(yamldoc.mapping_get(container, "name")) or ""
                image_node = yamldoc.mapping_get(container, "image")
                if image_node is None:
                    continue
                current = parse_image(yamldoc.scalar_text(image_node) or "", require_version=False)
                if target.container:
                    selected = name == target.container
                else:
                    selected = current is not None and names_match(current.name, wanted)
                if selected:
                    found.append(
                        (f"{kind}/{workload} {list_name}[name={name}].image", image_node, current)
                    )
    if not found:
        what = (
            f"container named {target.container}"
            if target.container
            else f"container image {wanted}"
        )
        raise UsageError(
            f"{source} has no {what} in a workload ({', '.join(sorted(POD_SPEC_PATHS))})"
        )
    edits = _Edits(text)
    new_value = str(target.image)
    for label, node, _current in found:
        edits.set(node, new_value, label)
    first = found[0][2]
    old_image = first or ImageRef(yamldoc.scalar_text(found[0][1]) or "")
    return edits.result(Format.MANIFEST, str(old_image), old_image.version)


def _yaml_path(text: str, source: str, documents: list[Node], target: Target) -> EditResult:
    if not target.yaml_path:
        raise UsageError("input 'yaml-path' is required for format yaml-path")
    node = next(
        (
            n
            for n in (yamldoc.resolve_path(d, target.yaml_path) for d in documents)
            if n is not None
        ),
        None,
    )
    if node is None:
        raise UsageError(f"YAML path '{target.yaml_path}' was not found in {source}")
    image = target.image
    new_value = {
        ValueKind.REFERENCE: str(image),
        ValueKind.TAG: image.tag,
        ValueKind.DIGEST: image.digest,
    }[target.value]
    if not new_value:
        raise UsageError(
            f"image {image} has no {target.value.value} to write at '{target.yaml_path}'"
        )
    old_text = yamldoc.scalar_text(node) or ""
    if target.value is ValueKind.REFERENCE:
        old = parse_image(old_text, require_version=False) or ImageRef(old_text)
        if old.name and not names_match(old.name, target.wanted_name):
            raise UsageError(
                f"'{target.yaml_path}' in {source} holds {old_text}, not an image named {target.wanted_name}"
            )
    elif target.value is ValueKind.TAG:
        old = ImageRef(image.name, old_text or None)
    else:
        old = ImageRef(image.name, None, old_text or None)
    edits = _Edits(text)
    edits.set(node, new_value, target.yaml_path)
    return edits.result(Format.YAML_PATH, str(old), old.version)
