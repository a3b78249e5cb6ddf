"""Image references (``registry/repository:tag@digest``), parsed and checked by the OCI rules.

The grammar follows the distribution reference grammar that docker, buildah and the
registries share: a first path component is a registry host when it contains ``.`` or
``:`` or is ``localhost``; otherwise the image lives on Docker Hub (``docker.io``), and a
single-component Docker Hub name gains the ``library/`` prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_LABEL = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_HOST = re.compile(rf"^(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{{1,5}})?$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$|^sha512:[0-9a-f]{128}$")
MAX_NAME_LENGTH = 255
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


class ReferenceError(ValueError):
    """A reference, repository, tag or digest that does not follow the OCI grammar."""


def is_valid_tag(tag: str) -> bool:
    return bool(_TAG.match(tag))


def is_valid_digest(digest: str) -> bool:
    return bool(_DIGEST.match(digest))


def is_loopback(registry: str) -> bool:
    """Whether a registry host is this machine, where plain HTTP is the norm."""
    host = registry.rsplit(":", 1)[0] if not registry.endswith("]") else registry
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def format_reference(name: str, tag: str | None, digest: str | None) -> str:
    """``name[:tag][@digest]``, the one spelling every tool accepts."""
    return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


@dataclass(frozen=True)
class ImageReference:
    """``registry`` is a host[:port]; ``repository`` the path inside it."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """``registry/repository``, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    def with_tag(self, tag: str) -> ImageReference:
        if not is_valid_tag(tag):
            raise ReferenceError(
                f"'{tag}' is not a valid tag (letters, digits, '_', '.', '-'; at most 128)"
            )
        return ImageReference(self.registry, self.repository, tag, None)

    def with_digest(self, digest: str) -> ImageReference:
        if not is_valid_digest(digest):
            raise ReferenceError(f"'{digest}' is not a digest (sha256:<64 hex>)")
        return ImageReference(self.registry, self.repository, None, digest)

    def __str__(self) -> str:
        return format_reference(self.name, self.tag, self.digest)


def parse_reference(text: str) -> ImageReference:
    """Parse ``[registry/]repository[:tag][@digest]``; raises ReferenceError saying what is wrong."""
    value = text.strip()
    if not value:
        raise ReferenceError("an image reference is empty")
    remainder, _, digest = value.partition("@")
    if digest and not is_valid_digest(digest):
        raise ReferenceError(f"'{digest}' is not a digest (sha256:<64 hex>)")
    tag: str | None = None
    last_slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > last_slash:
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        if not is_valid_tag(tag):
            raise ReferenceError(
                f"'{tag}' is not a valid tag (letters, digits, '_', '.', '-'; at most 128)"
            )
    first, slash, rest = remainder.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        registry, repository = first, rest
        if not _HOST.match(registry):
            raise ReferenceError(f"'{registry}' is not a registry host[:port]")
    else:
        registry, repository = DOCKER_HUB, remainder
        if "/" not in repository:
            repository = f"library/{repository}"
    if not _REPOSITORY.match(repository):
        raise ReferenceError(
            f"'{repository}' is not a repository name "
            "(lower-case letters, digits and separators '.', '_', '-', '/')"
        )
    if len(f"{registry}/{repository}") > MAX_NAME_LENGTH:
        raise ReferenceError(
            f"'{registry}/{repository}' is longer than {MAX_NAME_LENGTH} characters"
        )
    return ImageReference(registry, repository, tag, digest or None)


def parse_repository(text: str) -> ImageReference:
    """A repository to push to: a reference without tag or digest."""
    reference = parse_reference(text)
    if reference.tag or reference.digest:
        raise ReferenceError(
            f"'{text.strip()}' carries a tag or digest; give the repository alone "
            "(e.g. ghcr.io/owner/app) and the tags separately"
        )
    return reference
