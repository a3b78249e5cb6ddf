"""Registry credentials: given explicitly, or read from the files docker and buildah write.

Looked up in the order the container tools use: ``REGISTRY_AUTH_FILE``,
``$XDG_RUNTIME_DIR/containers/auth.json``, ``$DOCKER_CONFIG/config.json``,
``~/.docker/config.json``. Only inline ``auths`` entries are read; credential helpers
(``credsStore``/``credHelpers``) are not run, so pass credentials explicitly there.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DOCKER_HUB_KEYS = (
    "https://index.docker.io/v1/",
    "index.docker.io",
    "docker.io",
    "registry-1.docker.io",
)


class AuthFileError(ValueError):
    """A credentials file that exists but cannot be read; the message names the file."""


@dataclass(frozen=True)
class Credentials:
    """A username and a password or token; the secret never appears in ``repr``."""

    username: str
    password: str = field(repr=False)

    def basic_header(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return f"Basic {token}"


def auth_file_candidates(environ: Mapping[str, str]) -> list[Path]:
    candidates: list[Path] = []
    if environ.get("REGISTRY_AUTH_FILE"):
        candidates.append(Path(environ["REGISTRY_AUTH_FILE"]))
    if environ.get("XDG_RUNTIME_DIR"):
        candidates.append(Path(environ["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    if environ.get("DOCKER_CONFIG"):
        candidates.append(Path(environ["DOCKER_CONFIG"]) / "config.json")
    if environ.get("HOME"):
        candidates.append(Path(environ["HOME"]) / ".docker" / "config.json")
    return candidates


def _keys_for(registry: str) -> list[str]:
    keys = [registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/"]
    if registry in DOCKER_HUB_KEYS:
        keys += list(DOCKER_HUB_KEYS)
    return keys


def _entry_credentials(entry: object, path: Path) -> Credentials | None:
    if not isinstance(entry, dict):
        raise AuthFileError(f"{path}: an 'auths' entry is not an object")
    if isinstance(entry.get("auth"), str) and entry["auth"]:
        try:
            decoded = base64.b64decode(entry["auth"], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise AuthFileError(f"{path}: an 'auth' value is not base64 of user:password") from None
        username, colon, password = decoded.partition(":")
        if not colon:
            raise AuthFileError(f"{path}: an 'auth' value is not base64 of user:password")
        return Credentials(username, password)
    if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
        return Credentials(entry["username"], entry["password"])
    return None


def credentials_from_file(path: Path, registry: str) -> Credentials | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AuthFileError(f"{path}: cannot read registry credentials: {error}") from None
    auths = document.get("auths") if isinstance(document, dict) else None
    if not isinstance(auths, dict):
        return None
    for key in _keys_for(registry):
        if key in auths:
            found = _entry_credentials(auths[key], path)
            if found is not None:
                return found
    return None


def find_credentials(registry: str, environ: Mapping[str, str] | None = None) -> Credentials | None:
    """The first credentials for ``registry`` in the usual files, or None (anonymous)."""
    env = os.environ if environ is None else environ
    for path in auth_file_candidates(env):
        found = credentials_from_file(path, registry)
        if found is not None:
            return found
    return None


def write_auth_file(path: Path, registry: str, credentials: Credentials) -> Path:
    """A docker ``config.json`` (also buildah's ``--authfile`` format), readable by us only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "auths": {
            registry: {
                "auth": base64.b64encode(
                    f"{credentials.username}:{credentials.password}".encode()
                ).decode()
            }
        }
    }
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    return path
