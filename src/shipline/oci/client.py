"""A small client for the OCI distribution API (``/v2/``) that other actions build on.

    client = RegistryClient.for_registry("ghcr.io", credentials=Credentials("me", token))
    digest = client.manifest_digest("owner/app", "v1.2.3")       # None when the tag is absent
    manifest = client.get_manifest("owner/app", digest)
    client.put_manifest("owner/app", "1f0c...", manifest.content, manifest.media_type)

Authentication follows the registry's challenge: HTTP basic, or a bearer token fetched
from the token service the ``WWW-Authenticate`` header names (with the credentials, if
any, sent as basic auth to that service). Server errors (5xx, 429) and connection errors
are retried with exponential backoff and full jitter, a bounded number of times; 401/403
raise :class:`RegistryAuthError` at once and other 4xx answers raise :class:`RegistryError`
without retrying, because repeating them cannot help. Credentials never appear in messages.
Plain HTTP is used for loopback registries (and when ``insecure=True``), HTTPS otherwise.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import IO, Any, TypeVar

from shipline import __version__
from shipline.errors import ToolFailedError
from shipline.oci.auth import Credentials, find_credentials
from shipline.oci.reference import is_loopback

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_MEDIA_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST)
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
T = TypeVar("T")


class RegistryError(ToolFailedError):
    """The registry refused or failed a request; ``status`` is the HTTP status, if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RegistryAuthError(RegistryError):
    """401/403: missing or wrong credentials, or no permission. Never retried."""


class _TransientError(Exception):
    """A failure worth another attempt (5xx, 429, connection trouble)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base * 2**n))."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, retry_number: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**retry_number))


@dataclass(frozen=True)
class Manifest:
    digest: str
    media_type: str
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    artifact_type: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Descriptor:
        return cls(
            media_type=str(data.get("mediaType", "")),
            digest=str(data["digest"]),
            size=int(data.get("size", 0)),
            artifact_type=data.get("artifactType"),
            annotations=dict(data.get("annotations") or {}),
        )


@dataclass(frozen=True)
class Referrers:
    """Manifests that name a subject; ``via_api`` is False when read from the tag fallback."""

    descriptors: tuple[Descriptor, ...]
    via_api: bool


@dataclass(frozen=True)
class _Response:
    status: int
    headers: Message
    body: bytes


def sha256_digest(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def referrers_tag(digest: str) -> str:
    """The fallback tag (``sha256-<hex>``) that lists referrers where the API is missing."""
    algorithm, _, hex_part = digest.partition(":")
    return f"{algorithm}-{hex_part}"


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="...",service="..."`` -> ("bearer", {"realm": ..., "service": ...})."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(_CHALLENGE_PARAM.findall(rest))


class RegistryClient:
    """One registry host. Thread-compatible, not thread-safe (it caches auth per scope)."""

    def __init__(
        self,
        registry: str,
        *,
        credentials: Credentials | None = None,
        insecure: bool | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.registry = registry
        self.credentials = credentials
        plain_http = is_loopback(registry) if insecure is None else insecure
        self.base_url = f"{'http' if plain_http else 'https'}://{registry}"
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)
        self._authorization: dict[str, str] = {}  # scope -> Authorization header value
        self._opener = urllib.request.build_opener()

    @classmethod
    def for_registry(
        cls,
        registry: str,
        *,
        credentials: Credentials | None = None,
        environ: Mapping[str, str] | None = None,
        **options: Any,
    ) -> RegistryClient:
        """A client using ``credentials`` or, without them, those in the usual auth files."""
        found = credentials or find_credentials(registry, environ)
        return cls(registry, credentials=found, **options)

    # -- the API -------------------------------------------------------------------------

    def ping(self) -> None:
        """Check the registry speaks /v2/ and accepts our credentials (raises otherwise)."""
        self._call("GET", "/v2/", scope="", what="ping")

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """HEAD a manifest by tag or digest: its ``Docker-Content-Digest``, or None if absent."""
        response = self._read_manifest("HEAD", repository, reference)
        if response is None:
            return None
        digest = response.headers.get("Docker-Content-Digest")
        if not digest:
            # Some registries leave the header off HEAD answers; the body settles it.
            manifest = self.get_manifest(repository, reference)
            return manifest.digest if manifest else None
        return digest

    def get_manifest(self, repository: str, reference: str) -> Manifest | None:
        response = self._read_manifest("GET", repository, reference)
        if response is None:
            return None
        digest = sha256_digest(response.body)
        if reference.startswith("sha256:") and digest != reference:
            raise RegistryError(
                f"{self.registry} served {repository}@{reference} with content digest {digest}"
            )
        media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
        return Manifest(digest, media_type or _media_type_of(response.body), response.body)

    def _read_manifest(self, method: str, repository: str, reference: str) -> _Response | None:
        return self._call(
            method,
            f"/v2/{repository}/manifests/{reference}",
            scope=_pull(repository),
            headers={"Accept": ", ".join(MANIFEST_MEDIA_TYPES)},
            missing_ok=True,
            what=f"read manifest {repository}:{reference}",
        )

    def put_manifest(self, repository: str, reference: str, content: bytes, media_type: str) -> str:
        """PUT a manifest under a tag or its digest; returns the registry's digest for it."""
        response = self._call(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            scope=_push(repository),
            headers={"Content-Type": media_type},
            body=content,
            ok=(201,),
            what=f"push manifest {repository}:{reference}",
        )
        assert response is not None  # noqa: S101 (missing_ok is off)
        return response.headers.get("Docker-Content-Digest") or sha256_digest(content)

    def blob_exists(self, repository: str, digest: str) -> bool:
        response = self._call(
            "HEAD",
            f"/v2/{repository}/blobs/{digest}",
            scope=_pull(repository),
            missing_ok=True,
            what=f"look up blob {digest}",
        )
        return response is not None

    def get_blob(self, repository: str, digest: str) -> bytes:
        response = self._call(
            "GET",
            f"/v2/{repository}/blobs/{digest}",
            scope=_pull(repository),
            what=f"read blob {digest}",
        )
        assert response is not None  # noqa: S101
        if sha256_digest(response.body) != digest:
            raise RegistryError(f"{self.registry} served blob {digest} with different content")
        return response.body

    def upload_blob(self, repository: str, digest: str, source: bytes | Path) -> None:
        """Monolithic upload (POST a session, PUT the bytes); a retry starts a new session."""

        def attempt() -> None:
            started = self._send(
                "POST",
                f"/v2/{repository}/blobs/uploads/",
                scope=_push(repository),
                ok=(202,),
                what=f"start upload of {digest}",
            )
            location = started.headers.get("Location") if started else None
            if not location:
                raise RegistryError(f"{self.registry} started an upload without a Location header")
            url = urllib.parse.urljoin(self.base_url + "/", location)
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"digest": digest})
            self._send(
                "PUT",
                url,
                scope=_push(repository),
                headers={"Content-Type": "application/octet-stream"},
                body=source,
                ok=(201,),
                what=f"upload blob {digest}",
            )

        self._with_retries(attempt, f"upload blob {digest} to {repository}")

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Link a blob from another repository of this registry without transferring it.

        Returns False when the registry declined (it then opens an upload session, which is
        left to expire); the caller uploads the blob itself.
        """
        query = urllib.parse.urlencode({"mount": digest, "from": from_repository})
        response = self._call(
            "POST",
            f"/v2/{repository}/blobs/uploads/?{query}",
            scope=f"{_push(repository)} {_pull(from_repository)}",
            ok=(201, 202),
            what=f"mount blob {digest} from {from_repository}",
        )
        return response is not None and response.status == 201

    def list_tags(self, repository: str) -> list[str]:
        """Every tag of a repository (following ``Link`` pagination); [] if it does not exist."""
        tags: list[str] = []
        path: str | None = f"/v2/{repository}/tags/list?n=1000"
        while path:
            response = self._call(
                "GET",
                path,
                scope=_pull(repository),
                missing_ok=True,
                what=f"list tags of {repository}",
            )
            if response is None:
                return tags
            tags += json.loads(response.body).get("tags") or []
            link = _NEXT_LINK.search(response.headers.get("Link") or "")
            path = link.group(1) if link else None
        return tags

    def referrers(
        self, repository: str, digest: str, artifact_type: str | None = None
    ) -> Referrers:
        """Manifests whose ``subject`` is ``digest``: the referrers API, else the tag fallback.

        A registry without the API answers 404 (as the distribution spec requires of
        registries that do support it never to do); then the ``sha256-<hex>`` tag's index
        is read instead, and filtered by ``artifact_type`` here.
        """
        query = (
            f"?{urllib.parse.urlencode({'artifactType': artifact_type})}" if artifact_type else ""
        )
        response = self._call(
            "GET",
            f"/v2/{repository}/referrers/{digest}{query}",
            scope=_pull(repository),
            headers={"Accept": OCI_INDEX},
            missing_ok=True,
            what=f"list referrers of {digest}",
        )
        if response is not None:
            index = json.loads(response.body)
            return Referrers(_descriptors(index, artifact_type), via_api=True)
        fallback = self.get_manifest(repository, referrers_tag(digest))
        if fallback is None:
            return Referrers((), via_api=False)
        return Referrers(_descriptors(fallback.json(), artifact_type), via_api=False)

    # -- transport -------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, what: str, **request: Any) -> _Response | None:
        """``_send`` (same keywords) with retries of transient failures."""
        return self._with_retries(lambda: self._send(method, path, what=what, **request), what)

    def _with_retries(self, attempt: Callable[[], T], what: str) -> T:
        for number in range(self.retry.attempts):
            try:
                return attempt()
            except _TransientError as failure:
                if number + 1 >= self.retry.attempts:
                    raise RegistryError(
                        f"{self.registry}: could not {what} after {self.retry.attempts} attempts: {failure}",
                        failure.status,
                    ) from None
                self._sleep(self.retry.delay(number, self._rng))
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _send(
        self,
        method: str,
        path: str,
        *,
        scope: str,
        what: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | Path | None = None,
        ok: tuple[int, ...] = (200,),
        missing_ok: bool = False,
    ) -> _Response | None:
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        response = self._exchange(method, url, scope, headers, body)
        if response.status == 401:
            self._authorization[scope] = self._authorize(response, scope)
            response = self._exchange(method, url, scope, headers, body)
        if response.status in ok:
            return response
        if response.status == 404 and missing_ok:
            return None
        detail = _error_detail(response)
        if response.status in (401, 403):
            who = f"user '{self.credentials.username}'" if self.credentials else "anonymous access"
            verdict = "refused the credentials of" if response.status == 401 else "denied"
            raise RegistryAuthError(
                f"{self.registry} {verdict} {who} ({response.status}{detail}) while trying to {what}; "
                "check the username and password or token (not retried)",
                response.status,
            )
        if response.status in RETRYABLE_STATUSES:
            raise _TransientError(f"HTTP {response.status}{detail}", response.status)
        raise RegistryError(
            f"{self.registry}: could not {what}: HTTP {response.status}{detail}", response.status
        )

    def _authorize(self, challenge_response: _Response, scope: str) -> str:
        challenge = challenge_response.headers.get("WWW-Authenticate") or ""
        scheme, params = parse_challenge(challenge)
        if scheme == "basic":
            if self.credentials is None:
                raise RegistryAuthError(
                    f"{self.registry} wants credentials and none were given "
                    "(pass them explicitly or log in so an auth file holds them)",
                    401,
                )
            return self.credentials.basic_header()
        if scheme == "bearer" and params.get("realm"):
            return f"Bearer {self._bearer_token(params, scope)}"
        raise RegistryAuthError(
            f"{self.registry} answered 401 with an unusable challenge '{scheme}'", 401
        )

    def _bearer_token(self, params: Mapping[str, str], scope: str) -> str:
        query: dict[str, list[str]] = (
            {"service": [params["service"]]} if "service" in params else {}
        )
        wanted_scopes = (scope or params.get("scope", "")).split()
        if wanted_scopes:
            query["scope"] = wanted_scopes  # one parameter per scope, as token services expect
        separator = "&" if "?" in params["realm"] else "?"
        url = params["realm"] + separator + urllib.parse.urlencode(query, doseq=True)
        if not url.startswith(("http://", "https://")):
            raise RegistryAuthError(
                f"{self.registry} names a token service that is not HTTP(S)", 401
            )
        request = urllib.request.Request(url, method="GET")  # noqa: S310 (scheme checked above)
        if self.credentials is not None:
            request.add_unredirected_header("Authorization", self.credentials.basic_header())
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                document = json.loads(answer.read())
        except urllib.error.HTTPError as error:
            if error.code in (401, 403):
                who = (
                    f"user '{self.credentials.username}'"
                    if self.credentials
                    else "anonymous access"
                )
                raise RegistryAuthError(
                    f"the token service of {self.registry} refused {who} ({error.code}); "
                    "check the username and password or token (not retried)",
                    error.code,
                ) from None
            if error.code in RETRYABLE_STATUSES:
                raise _TransientError(f"token service HTTP {error.code}", error.code) from None
            raise RegistryError(
                f"the token service of {self.registry} answered HTTP {error.code}", error.code
            ) from None
        except (OSError, json.JSONDecodeError) as error:
            raise _TransientError(f"token service: {error}") from None
        token = document.get("token") or document.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryError(f"the token service of {self.registry} returned no token")
        return token

    def _exchange(
        self,
        method: str,
        url: str,
        scope: str,
        headers: Mapping[str, str] | None,
        body: bytes | Path | None,
    ) -> _Response:
        with _body_stream(body) as (stream, length):
            request = urllib.request.Request(url, data=stream, method=method)  # noqa: S310 (URL built from http(s) base)
            request.add_header("User-Agent", f"shipline/{__version__}")
            for name, value in (headers or {}).items():
                request.add_header(name, value)
            if stream is not None:
                request.add_header("Content-Length", str(length))
            authorization = self._authorization.get(scope)
            if authorization:
                # Unredirected: blob downloads may redirect to storage that must not see it.
                request.add_unredirected_header("Authorization", authorization)
            try:
                with self._opener.open(request, timeout=self.timeout) as answer:
                    return _Response(answer.status, answer.headers, answer.read())
            except urllib.error.HTTPError as error:
                payload = error.read() if error.fp is not None else b""
                return _Response(error.code, error.headers, payload)
            except (urllib.error.URLError, OSError) as error:
                reason = getattr(error, "reason", error)
                raise _TransientError(f"connection failed: {reason}") from None


@contextmanager
def _body_stream(body: bytes | Path | None) -> Iterator[tuple[IO[bytes] | bytes | None, int]]:
    if body is None:
        yield None, 0
    elif isinstance(body, bytes):
        yield body, len(body)
    else:
        with body.open("rb") as handle:
            yield handle, body.stat().st_size


def _pull(repository: str) -> str:
    return f"repository:{repository}:pull"


def _push(repository: str) -> str:
    return f"repository:{repository}:pull,push"


def _media_type_of(content: bytes) -> str:
    try:
        media_type = json.loads(content).get("mediaType")
    except (ValueError, AttributeError):
        return ""
    return media_type if isinstance(media_type, str) else ""


def _descriptors(index: Any, artifact_type: str | None) -> tuple[Descriptor, ...]:
    found = [Descriptor.from_json(item) for item in (index.get("manifests") or [])]
    return tuple(d for d in found if artifact_type is None or d.artifact_type == artifact_type)


def _error_detail(response: _Response) -> str:
    """The registry's own words (``errors[].code/message``), briefly."""
    try:
        errors = json.loads(response.body).get("errors") or []
    except (ValueError, AttributeError):
        return ""
    parts = [
        f"{e.get('code', '')}: {e.get('message', '')}".strip(": ")
        for e in errors
        if isinstance(e, dict)
    ]
    return f" {'; '.join(parts)[:300]}" if parts else ""
