"""Build, push by digest, then tag immutably: the whole of ``build-cache`` as one function.

    from shipline.build.api import BuildRequest, build_and_push
    result = build_and_push(BuildRequest(context=Path("examples/fastapi-service"),
                                         image="127.0.0.1:5000/shop/orders", sha=commit))
    result.image_ref   # 127.0.0.1:5000/shop/orders@sha256:...

Order of events, so a failure never leaves a tag on a half-pushed image: check input;
ping the registry (bad credentials stop us before any build); build (the digest becomes
known; buildah has staged it in the cache repository and added the labels there, by
digest); check every tag (a tag already
naming another digest stops us before the image repository is touched); put blobs and
manifest in the image repository by digest; confirm the registry holds that digest; only
then write the tags.

With ``reuse_existing`` (the default) the requested tags are looked up right after the ping:
if they all already name this commit's image (a rerun of the same commit) that image is
the result and nothing is built, pushed or tagged; if they name something else, or only
some exist, the run stops there, before the build (see ``shipline.build.reuse``).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from shipline.build.builders import (
    BuilderKind,
    BuildPlan,
    CacheMode,
    StepStats,
    select_builder,
)
from shipline.build.cachekey import dependency_cache_key
from shipline.build.reuse import (
    REVISION_LABEL,
    ReuseVerdict,
    decide_reuse,
    existing_digests,
    image_config,
    image_labels,
)
from shipline.build.tags import FULL_SHA, mutable_tag_reason, plan_tags, version_from_tags
from shipline.errors import ShiplineError, UsageError
from shipline.oci.auth import Credentials, write_auth_file
from shipline.oci.client import Manifest, RegistryClient, RegistryError, RetryPolicy
from shipline.oci.copy import image_size
from shipline.oci.reference import ImageReference, ReferenceError, is_loopback, parse_repository

DEFAULT_TIMEOUT = 30 * 60.0


class ImmutableTagError(ShiplineError):
    """A tag already names a different image: refusing to move it (exit 1)."""


@dataclass(frozen=True)
class BuildRequest:
    """Plain parameters; ``build_and_push`` checks them all before doing anything."""

    context: Path
    image: str  # repository to push to, e.g. ghcr.io/owner/app (no tag)
    sha: str  # full commit SHA: the default tag and the revision label
    dockerfile: Path | None = None  # default: <context>/Dockerfile
    tags: Sequence[str] = ()  # extra immutable tags
    builder: BuilderKind = BuilderKind.AUTO
    cache: CacheMode = CacheMode.REGISTRY
    cache_repository: str | None = None  # default: <image>-cache
    build_args: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None  # org.opencontainers.image.source, e.g. the repository URL
    version: str | None = None  # default: the first full-version tag, else the SHA
    credentials: Credentials | None = None  # default: the usual auth files
    insecure: bool | None = None  # plain HTTP; default: only for loopback registries
    ca_bundle: Path | None = None  # mounted read-only for RUN steps (buildah)
    timeout: float = DEFAULT_TIMEOUT
    environ: Mapping[str, str] | None = None  # for the builder's processes
    reuse_existing: bool = True  # a rerun of the same commit reuses the image its tags name


@dataclass(frozen=True)
class BuildResult:
    image: str  # repository:first tag
    digest: str
    image_ref: str  # repository@digest
    tags: tuple[str, ...]  # full references, SHA tag first
    already_tagged: tuple[str, ...]  # tags that already named this digest
    cache_key: str
    lock_files: tuple[str, ...]
    builder: str
    builder_reason: str
    build_seconds: float
    push_seconds: float
    size: int
    steps: StepStats
    labels: Mapping[str, str]
    reused: bool = False  # nothing built or pushed: the tags already named this commit's image


@dataclass(frozen=True)
class CheckedRequest:
    repository: ImageReference
    tags: list[str]
    dockerfile: Path
    cache_repository: str | None
    staging_repository: str
    insecure: bool
    labels: dict[str, str]


def check_request(request: BuildRequest, now: datetime | None = None) -> CheckedRequest:
    """Every parameter checked; raises UsageError naming the first bad one."""
    context = request.context
    if not context.is_dir():
        raise UsageError(f"input 'context' got '{context}': expected an existing directory")
    dockerfile = request.dockerfile or context / "Dockerfile"
    if not dockerfile.is_file():
        raise UsageError(f"input 'dockerfile' got '{dockerfile}': expected an existing Dockerfile")
    try:
        repository = parse_repository(request.image)
    except ReferenceError as error:
        raise UsageError(f"input 'image' got '{request.image}': {error}") from None
    if not FULL_SHA.match(request.sha):
        raise UsageError(
            f"input 'sha' got '{request.sha}': expected a full commit SHA (40 hex digits)"
        )
    tags = plan_tags(request.sha, list(request.tags))
    for tag in tags:
        reason = mutable_tag_reason(tag)
        if reason:
            raise UsageError(f"input 'tags' got '{tag}': refused, {reason}")
    cache_text = request.cache_repository or f"{repository.name}-cache"
    try:
        cache_ref = parse_repository(cache_text)
    except ReferenceError as error:
        raise UsageError(f"input 'cache-repository' got '{cache_text}': {error}") from None
    if cache_ref.registry != repository.registry:
        raise UsageError(
            f"input 'cache-repository' got '{cache_text}': expected a repository on {repository.registry}"
        )
    cache_repository = cache_ref.name if request.cache is CacheMode.REGISTRY else None
    for key in request.build_args:
        if not key or "=" in key or any(c.isspace() for c in key):
            raise UsageError(f"input 'build-args' got '{key}': expected NAME=value lines")
    if request.ca_bundle is not None and not request.ca_bundle.is_file():
        raise UsageError(f"input 'ca-bundle' got '{request.ca_bundle}': expected an existing file")
    created = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    labels = {
        "org.opencontainers.image.revision": request.sha,
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.version": request.version
        or version_from_tags(tags)
        or request.sha,
    }
    if request.source:
        labels["org.opencontainers.image.source"] = request.source
    labels.update(request.labels)
    for key, value in labels.items():
        if not key or any(c.isspace() or c == "=" for c in key) or any(c in value for c in "\r\n"):
            raise UsageError(
                f"input 'labels' got '{key}={value}': expected a name without spaces or '=' "
                "and a one-line value"
            )
    insecure = is_loopback(repository.registry) if request.insecure is None else request.insecure
    return CheckedRequest(
        repository, tags, dockerfile, cache_repository, cache_ref.name, insecure, labels
    )


def build_plan(
    request: BuildRequest, checked: CheckedRequest, workdir: Path, auth_file: Path | None = None
) -> BuildPlan:
    """What the builder gets for a checked request; ``workdir`` is its scratch space."""
    return BuildPlan(
        context=request.context,
        dockerfile=checked.dockerfile,
        repository=checked.repository,
        local_name=f"localhost/shipline-build/{checked.repository.repository}:{request.sha}",
        labels=checked.labels,
        build_args=dict(request.build_args),
        cache=request.cache,
        cache_repository=checked.cache_repository,
        staging_repository=checked.staging_repository,
        insecure=checked.insecure,
        timeout=request.timeout,
        workdir=workdir,
        auth_file=auth_file,
        ca_bundle=request.ca_bundle,
    )


def build_and_push(
    request: BuildRequest, progress: Callable[[str], None] = lambda _: None
) -> BuildResult:
    """Build ``request.context``, push it by digest and tag it; see the module docstring."""
    checked = check_request(request)
    repository = checked.repository
    builder, reason = select_builder(request.builder, request.environ)
    if request.cache is CacheMode.GHA and builder.name != "docker":
        raise UsageError(
            f"input 'cache' got 'gha': the GitHub Actions cache needs docker buildx, not {builder.name}"
        )
    progress(f"builder: {builder.name} ({reason})")
    cache_key, lock_paths = dependency_cache_key(request.context)
    lock_files = tuple(path.relative_to(request.context).as_posix() for path in lock_paths)
    client = RegistryClient.for_registry(
        repository.registry,
        credentials=request.credentials,
        environ=request.environ,
        insecure=checked.insecure,
        retry=RetryPolicy(),
    )
    client.ping()  # wrong credentials stop us here, before a long build
    if request.reuse_existing:
        reused = _reuse_existing(client, checked, request.sha, (cache_key, lock_files), progress)
        if reused is not None:
            return reused
    with tempfile.TemporaryDirectory(prefix="shipline-build-") as scratch:
        workdir = Path(scratch)
        auth_file = None
        if client.credentials is not None:
            # Written for the builder (0600, deleted with the scratch dir): never on a command line.
            auth_file = write_auth_file(
                workdir / "auth" / "config.json", repository.registry, client.credentials
            )
        plan = build_plan(request, checked, workdir, auth_file)
        progress(f"building {request.context} ({checked.dockerfile.name})")
        built = builder.build(plan, client)
        progress(f"built {built.digest} in {built.build_seconds:.1f} s")
        already = _check_tags(client, repository, checked.tags, built.digest)
        # Nothing is in the image repository yet (buildah staged in the cache repository).
        builder.push(plan, built, client)
    if client.manifest_digest(repository.repository, built.digest) != built.digest:
        raise ShiplineError(
            f"the registry does not report {repository.name}@{built.digest} after the push"
        )
    started = time.monotonic()
    manifest = client.get_manifest(repository.repository, built.digest)
    if manifest is None:
        raise ShiplineError(f"{repository.name}@{built.digest} vanished after the push")
    size = built.size or image_size(manifest)
    # Re-checked just before writing: another run may have tagged in the meantime.
    already = _check_tags(client, repository, checked.tags, built.digest)
    for tag in checked.tags:
        if tag not in already:
            client.put_manifest(repository.repository, tag, manifest.content, manifest.media_type)
    push_seconds = built.push_seconds + (time.monotonic() - started)
    progress(f"tagged {', '.join(checked.tags)}")
    return BuildResult(
        image=str(repository.with_tag(checked.tags[0])),
        digest=built.digest,
        image_ref=str(repository.with_digest(built.digest)),
        tags=tuple(str(repository.with_tag(tag)) for tag in checked.tags),
        already_tagged=tuple(already),
        cache_key=cache_key,
        lock_files=lock_files,
        builder=builder.name,
        builder_reason=reason,
        build_seconds=built.build_seconds,
        push_seconds=push_seconds,
        size=size,
        steps=built.steps,
        labels=checked.labels,
    )


def _check_tags(
    client: RegistryClient, repository: ImageReference, tags: list[str], digest: str
) -> list[str]:
    """Tags already naming ``digest``; raises ImmutableTagError if any names another image."""
    already: list[str] = []
    conflicts: list[str] = []
    for tag in tags:
        existing = client.manifest_digest(repository.repository, tag)
        if existing == digest:
            already.append(tag)
        elif existing is not None:
            conflicts.append(f"{repository.name}:{tag} already names {existing}")
    if conflicts:
        raise ImmutableTagError(
            f"refusing to move immutable tag(s): {'; '.join(conflicts)} (this build is {digest}); "
            "nothing was tagged. Build a new commit or use a new version tag"
        )
    return already


def _existing_image(
    client: RegistryClient, repository: str, digest: str
) -> tuple[Manifest, dict[str, str]] | None:
    """The manifest and labels of ``repository@digest``; None if unreadable as one image."""
    manifest = client.get_manifest(repository, digest)
    if manifest is None:
        return None
    try:
        return manifest, image_labels(image_config(client, repository, manifest))
    except (RegistryError, ValueError, KeyError, TypeError):
        return None  # an index or a malformed config: no revision to trust, so no reuse


def _reuse_existing(
    client: RegistryClient,
    checked: CheckedRequest,
    sha: str,
    dependency_cache: tuple[str, tuple[str, ...]],
    progress: Callable[[str], None],
) -> BuildResult | None:
    """The image every tag already names for ``sha``; None to build; raises to refuse."""
    repository = checked.repository
    existing = existing_digests(client, repository.repository, checked.tags)
    images = {
        digest: _existing_image(client, repository.repository, digest)
        for digest in dict.fromkeys(d for d in existing.values() if d is not None)
    }
    revisions = {
        digest: image[1].get(REVISION_LABEL) if image else None for digest, image in images.items()
    }
    decision = decide_reuse(repository.name, sha, existing, revisions)
    if decision.verdict is ReuseVerdict.BUILD:
        progress(f"{decision.reason}: building")
        return None
    if decision.verdict is ReuseVerdict.REFUSE or decision.digest is None:
        raise ImmutableTagError(
            f"refusing to move immutable tag(s): {decision.reason}; nothing was built or tagged. "
            "Build a new commit or use a new version tag"
        )
    image = images[decision.digest]
    assert image is not None  # noqa: S101 (REUSE implies its revision was read)
    manifest, labels = image
    progress(f"reusing {repository.name}@{decision.digest}: {decision.reason}")
    return BuildResult(
        image=str(repository.with_tag(checked.tags[0])),
        digest=decision.digest,
        image_ref=str(repository.with_digest(decision.digest)),
        tags=tuple(str(repository.with_tag(tag)) for tag in checked.tags),
        already_tagged=tuple(checked.tags),
        cache_key=dependency_cache[0],
        lock_files=dependency_cache[1],
        builder="",
        builder_reason=decision.reason,
        build_seconds=0.0,
        push_seconds=0.0,
        size=image_size(manifest),
        steps=StepStats(),
        labels=labels,
        reused=True,
    )
