"""Container image references and the order of two versions of one image."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipline.errors import UsageError
from shipline.oci.reference import ReferenceError, format_reference, parse_reference

_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)
_COMMIT = re.compile(r"^(?:sha-|git-|g)?([0-9a-f]{7,40})$")


@dataclass(frozen=True)
class ImageRef:
    """``name[:tag][@digest]``; ``name`` keeps its registry host (``registry:5000/team/app``)."""

    name: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        return format_reference(self.name, self.tag, self.digest)

    @property
    def repository(self) -> str:
        """The last path segment, a natural default app name."""
        return self.name.rsplit("/", 1)[-1]

    @property
    def version(self) -> str:
        """What an environment pins: the tag, else the digest."""
        return self.tag or self.digest or ""


def parse_image(text: str, *, require_version: bool = True) -> ImageRef | None:
    """The reference in ``text`` by the OCI grammar, or None when it is not one (callers name
    the input). The name keeps the spelling given: ``redis`` stays ``redis``, not
    ``docker.io/library/redis``, so a file is written the way its owners write it."""
    value = text.strip()
    try:
        reference = parse_reference(value)
    except ReferenceError:
        return None
    if require_version and reference.tag is None and reference.digest is None:
        return None
    suffix = format_reference("", reference.tag, reference.digest)
    return ImageRef(value[: len(value) - len(suffix)], reference.tag, reference.digest)


def require_image(text: str, input_name: str = "image") -> ImageRef:
    image = parse_image(text)
    if image is None:
        raise UsageError(
            f"input '{input_name}' got '{text}': expected an image reference with a tag or "
            "digest, such as registry.example.com/team/app:1.4.2 or app@sha256:<64 hex>"
        )
    return image


def semver_key(tag: str) -> tuple[int, int, int, tuple[tuple[int, int | str], ...]] | None:
    """Sort key per semver 2.0 precedence (a release sorts after its pre-releases)."""
    match = _SEMVER.match(tag)
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    if pre is None:
        identifiers: tuple[tuple[int, int | str], ...] = ((2, 0),)
    else:
        identifiers = tuple(
            (0, int(part)) if part.isdigit() else (1, part) for part in pre.split(".")
        )
    return int(major), int(minor), int(patch), identifiers


def commit_in_tag(tag: str) -> str | None:
    """The commit a tag such as ``sha-1a2b3c4`` or a bare SHA names, if it names one."""
    match = _COMMIT.match(tag)
    return match.group(1) if match else None
