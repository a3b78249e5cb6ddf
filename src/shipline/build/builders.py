"""Two builders behind one interface: buildah (daemonless) and docker buildx.

A builder turns a :class:`BuildPlan` into an image whose manifest digest is known, and
pushes that image to the registry *by digest* only; tagging is left to the caller, once
the push is complete and the tags are checked. Command lines are built by pure
functions so they can be tested without the tools.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from shipline.errors import ToolFailedError, ToolMissingError
from shipline.oci.client import RegistryClient, RetryPolicy
from shipline.oci.copy import copy_by_digest, with_labels
from shipline.oci.reference import ImageReference, parse_repository
from shipline.tools import run_tool

LAYER_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
CA_BUNDLE_TARGET = "/etc/ssl/certs/ca-certificates.crt"
BUILDAH_HINT = (
    "apt-get install buildah (Debian/Ubuntu), or use builder: docker on a runner with docker buildx"
)
DOCKER_HINT = "use a runner with docker buildx (GitHub-hosted runners have it), or builder: buildah"
PROBE_TIMEOUT = 20.0


class BuilderKind(StrEnum):
    AUTO = "auto"
    BUILDAH = "buildah"
    DOCKER = "docker"


class CacheMode(StrEnum):
    REGISTRY = "registry"  # layers stored in a cache repository next to the image
    GHA = "gha"  # the GitHub Actions cache service (docker buildx only)
    NONE = "none"


@dataclass(frozen=True)
class BuildPlan:
    """Everything a builder needs, checked beforehand: plain data, no I/O."""

    context: Path
    dockerfile: Path
    repository: ImageReference
    local_name: str  # the image's name in the builder's local store
    labels: Mapping[str, str]
    build_args: Mapping[str, str]
    cache: CacheMode
    cache_repository: str | None
    insecure: bool  # plain-HTTP registry (loopback, or asked for)
    timeout: float
    staging_repository: str  # buildah pushes here first (registry/repository), see BuildahBuilder
    workdir: Path  # scratch space for this build (metadata, auth file)
    auth_file: Path | None = None
    ca_bundle: Path | None = None
    gha_scope: str = "shipline"


@dataclass(frozen=True)
class StepStats:
    """How many Dockerfile steps came from cache; ``layers_*`` counts RUN/COPY/ADD only."""

    reused: int = 0
    rebuilt: int = 0
    layers_reused: int = 0
    layers_rebuilt: int = 0


@dataclass
class BuiltImage:
    digest: str
    size: int
    steps: StepStats
    build_seconds: float
    push_seconds: float = 0.0
    log: str = field(default="", repr=False)


class Builder(Protocol):
    name: str

    def build(self, plan: BuildPlan, client: RegistryClient) -> BuiltImage:
        """Build; afterwards the manifest digest the registry will hold is known."""
        ...

    def push(self, plan: BuildPlan, built: BuiltImage, client: RegistryClient) -> None:
        """Make ``plan.repository@built.digest`` exist in the registry (no tags)."""
        ...


# -- buildah ---------------------------------------------------------------------------


def buildah_build_command(binary: str, plan: BuildPlan) -> list[str]:
    """The build, without the labels: :class:`BuildahBuilder` sets them in the registry.

    buildah 1.28 turns every ``--label`` into a Dockerfile step of its own, and since the
    labels change with every commit (revision, created) that step is rebuilt every time:
    one more image commit and, with ``--cache-to``, one more cache push that no later
    build can ever use. Left out, a source-only change rebuilds only what changed.
    """
    args = [binary, "build", "--isolation", "chroot", "--layers", "--file", str(plan.dockerfile)]
    args += ["--tag", plan.local_name]
    for key, value in plan.build_args.items():
        args += ["--build-arg", f"{key}={value}"]
    if plan.cache is CacheMode.REGISTRY and plan.cache_repository:
        args += ["--cache-from", plan.cache_repository, "--cache-to", plan.cache_repository]
    if plan.insecure:
        args.append("--tls-verify=false")
    if plan.auth_file is not None:
        args += ["--authfile", str(plan.auth_file)]
    if plan.ca_bundle is not None:
        args += ["--volume", f"{plan.ca_bundle}:{CA_BUNDLE_TARGET}:ro"]
    args.append(str(plan.context))
    return args


def buildah_staging_tag(plan: BuildPlan) -> str:
    return f"{plan.staging_repository}:push-{plan.local_name.rsplit(':', 1)[-1]}"


def buildah_stage_command(binary: str, plan: BuildPlan, digest_file: Path) -> list[str]:
    """Push to the staging repository; the digest file then holds the manifest digest."""
    args = [binary, "push", "--quiet", "--format", "oci", "--digestfile", str(digest_file)]
    if plan.insecure:
        args.append("--tls-verify=false")
    if plan.auth_file is not None:
        args += ["--authfile", str(plan.auth_file)]
    args += [plan.local_name, f"docker://{buildah_staging_tag(plan)}"]
    return args


# What containers/image prints for failures that may heal: 5xx, 429 and broken connections.
# Anything else (401/403 above all) fails at once: repeating it cannot help.
_TRANSIENT_PUSH_FAILURE = re.compile(
    r"\b(?:50[0234]|429)\b|service unavailable|bad gateway|gateway time-?out|internal server error"
    r"|too many requests|connection (?:refused|reset)|broken pipe|unexpected EOF|i/o timeout"
    r"|TLS handshake timeout|no route to host",
    re.IGNORECASE,
)


def is_transient_push_failure(message: str) -> bool:
    return bool(_TRANSIENT_PUSH_FAILURE.search(message))


_BUILDAH_STEP = re.compile(r"^STEP \d+/\d+: (\w+)")
_BUILDAH_REUSED = ("--> Using cache", "--> Cache pulled from remote")


def buildah_step_stats(log: str) -> StepStats:
    """Read ``STEP n/N: INSTR`` and the ``--> Using cache`` lines that follow reused steps."""
    steps: list[tuple[str, bool]] = []
    for line in log.splitlines():
        match = _BUILDAH_STEP.match(line)
        if match:
            steps.append((match.group(1).upper(), False))
        elif steps and line.startswith(_BUILDAH_REUSED):
            steps[-1] = (steps[-1][0], True)
    return _tally(steps)


def _tally(steps: Sequence[tuple[str, bool]]) -> StepStats:
    counted = [(instruction, reused) for instruction, reused in steps if instruction != "FROM"]
    layers = [reused for instruction, reused in counted if instruction in LAYER_INSTRUCTIONS]
    reused = sum(1 for _, was_reused in counted if was_reused)
    return StepStats(
        reused=reused,
        rebuilt=len(counted) - reused,
        layers_reused=sum(layers),
        layers_rebuilt=len(layers) - sum(layers),
    )


class BuildahBuilder:
    """buildah build, then a push to a staging repository of the same registry.

    buildah cannot push by digest alone (a destination without a tag becomes ``latest``),
    so it pushes to ``<staging repository>:push-<sha>`` (the cache repository by default),
    which tells us the digest and lets containers/image skip layers the registry already
    holds instead of compressing them again. The labels are then added to the staged
    image's configuration in the registry (see :func:`buildah_build_command` for why not
    at build time), which gives the final manifest and its digest, still by digest only.
    The image repository is untouched until :meth:`push` mounts the blobs into it and puts
    the manifest under its digest. The image left in the local store carries no labels.
    """

    name = "buildah"

    def __init__(
        self,
        binary: str,
        environ: Mapping[str, str] | None = None,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.binary = binary
        self.environ = dict(environ or {})
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.rng = random.Random()  # noqa: S311 (jitter, not cryptography)

    def build(self, plan: BuildPlan, client: RegistryClient) -> BuiltImage:
        started = time.monotonic()
        built = run_tool(
            buildah_build_command(self.binary, plan),
            cwd=plan.context,
            timeout=plan.timeout,
            env=self.environ,
        )
        digest_file = plan.workdir / "digest"
        self._stage(plan, digest_file)
        digest = digest_file.read_text(encoding="utf-8").strip() if digest_file.is_file() else ""
        if not digest.startswith("sha256:"):
            raise ToolFailedError("buildah push wrote no digest to its --digestfile")
        if plan.labels:
            staging = parse_repository(plan.staging_repository).repository
            note = f"LABEL {' '.join(plan.labels)} (shipline build-cache)"
            digest = with_labels(client, staging, digest, plan.labels, note).digest
        log = built.stdout + built.stderr
        return BuiltImage(
            digest,
            size=0,
            steps=buildah_step_stats(log),
            build_seconds=time.monotonic() - started,
            log=log,
        )

    def _stage(self, plan: BuildPlan, digest_file: Path) -> None:
        """The staging push, retried with backoff on server and connection errors only."""
        command = buildah_stage_command(self.binary, plan, digest_file)
        for number in range(self.retry.attempts):
            try:
                run_tool(command, cwd=plan.workdir, timeout=plan.timeout, env=self.environ)
                return
            except ToolFailedError as failure:
                if not is_transient_push_failure(str(failure)) or number + 1 >= self.retry.attempts:
                    raise
                self.sleep(self.retry.delay(number, self.rng))

    def push(self, plan: BuildPlan, built: BuiltImage, client: RegistryClient) -> None:
        started = time.monotonic()
        staging = parse_repository(plan.staging_repository).repository
        copy_by_digest(client, staging, plan.repository.repository, built.digest)
        built.push_seconds = time.monotonic() - started


# -- docker buildx ---------------------------------------------------------------------


def buildx_cache_options(plan: BuildPlan) -> list[str]:
    if plan.cache is CacheMode.REGISTRY and plan.cache_repository:
        ref = f"{plan.cache_repository}:buildcache"
        insecure = ",registry.insecure=true" if plan.insecure else ""
        return [
            "--cache-from",
            f"type=registry,ref={ref}{insecure}",
            "--cache-to",
            f"type=registry,ref={ref},mode=max{insecure}",
        ]
    if plan.cache is CacheMode.GHA:
        scope = f"scope={plan.gha_scope}"
        return ["--cache-from", f"type=gha,{scope}", "--cache-to", f"type=gha,{scope},mode=max"]
    return []


def buildx_build_command(binary: str, plan: BuildPlan, metadata_file: Path) -> list[str]:
    """Build and push by digest in one go: no tag is written (``push-by-digest``)."""
    args = [binary, "buildx", "build", "--progress", "plain", "--provenance", "false"]
    args += ["--file", str(plan.dockerfile), "--metadata-file", str(metadata_file)]
    for key, value in plan.build_args.items():
        args += ["--build-arg", f"{key}={value}"]
    for key, value in plan.labels.items():
        args += ["--label", f"{key}={value}"]
    args += buildx_cache_options(plan)
    output = (
        f"type=image,name={plan.repository.name},push-by-digest=true,name-canonical=true,push=true"
    )
    if plan.insecure:
        output += ",registry.insecure=true"
    args += ["--output", output, str(plan.context)]
    return args


_BUILDX_STEP = re.compile(r"^#(\d+) \[(?:[\w-]+ )?\d+/\d+\] (\w+)")
_BUILDX_CACHED = re.compile(r"^#(\d+) CACHED")


def buildx_step_stats(log: str) -> StepStats:
    """Read ``#N [k/n] INSTR`` vertices and the ``#N CACHED`` lines of plain progress output."""
    instructions: dict[str, str] = {}
    cached: set[str] = set()
    for line in log.splitlines():
        if match := _BUILDX_STEP.match(line):
            instructions.setdefault(match.group(1), match.group(2).upper())
        elif match := _BUILDX_CACHED.match(line):
            cached.add(match.group(1))
    return _tally([(instruction, vertex in cached) for vertex, instruction in instructions.items()])


def buildx_digest(metadata: object) -> str:
    digest = metadata.get("containerimage.digest") if isinstance(metadata, dict) else None
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        raise ToolFailedError("docker buildx wrote no containerimage.digest to its metadata file")
    return digest


class BuildxBuilder:
    name = "docker"

    def __init__(self, binary: str, environ: Mapping[str, str] | None = None) -> None:
        self.binary = binary
        self.environ = dict(environ or {})

    def build(self, plan: BuildPlan, client: RegistryClient) -> BuiltImage:
        """buildx sets the labels and pushes by digest itself; ``client`` is not needed."""
        metadata_file = plan.workdir / "buildx-metadata.json"
        env = dict(self.environ)
        if plan.auth_file is not None:
            env["DOCKER_CONFIG"] = str(plan.auth_file.parent)  # the file is written as config.json
        started = time.monotonic()
        result = run_tool(
            buildx_build_command(self.binary, plan, metadata_file),
            cwd=plan.context,
            timeout=plan.timeout,
            env=env,
        )
        try:
            metadata = json.loads(metadata_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ToolFailedError(
                f"docker buildx left no readable metadata file: {error}"
            ) from None
        log = result.stdout + result.stderr
        return BuiltImage(
            digest=buildx_digest(metadata),
            size=0,  # read from the pushed manifest by the caller
            steps=buildx_step_stats(log),
            build_seconds=time.monotonic() - started,
            log=log,
        )

    def push(self, plan: BuildPlan, built: BuiltImage, client: RegistryClient) -> None:
        """buildx pushed by digest during the build; confirm the registry has it."""
        if client.manifest_digest(plan.repository.repository, built.digest) != built.digest:
            raise ToolFailedError(
                f"docker buildx reported {built.digest} but the registry does not hold it"
            )


# -- choosing ----------------------------------------------------------------------------


def _works(args: list[str], environ: Mapping[str, str]) -> bool:
    try:
        run_tool(args, cwd=Path.cwd(), timeout=PROBE_TIMEOUT, env=environ)
    except ToolFailedError:
        return False
    return True


def select_builder(
    kind: BuilderKind, environ: Mapping[str, str] | None = None
) -> tuple[Builder, str]:
    """The builder asked for, or for ``auto`` the first usable one, with the reason."""
    env = dict(environ or {})
    docker = shutil.which("docker", path=env.get("PATH"))
    buildah = shutil.which("buildah", path=env.get("PATH"))
    if kind is BuilderKind.DOCKER:
        if docker is None:
            raise ToolMissingError("docker", DOCKER_HINT)
        return BuildxBuilder(docker, env), "asked for"
    if kind is BuilderKind.BUILDAH:
        if buildah is None:
            raise ToolMissingError("buildah", BUILDAH_HINT)
        return BuildahBuilder(buildah, env), "asked for"
    docker_problem = "docker is not installed"
    if docker is not None:
        if not _works([docker, "buildx", "version"], env):
            docker_problem = "docker has no buildx plugin"
        elif not _works([docker, "version", "--format", "{{.Server.Version}}"], env):
            docker_problem = "docker cannot reach a daemon"
        else:
            return BuildxBuilder(docker, env), "auto: docker buildx is available"
    if buildah is not None:
        return BuildahBuilder(buildah, env), f"auto: {docker_problem}, buildah is installed"
    raise ToolMissingError("buildah or docker buildx", f"{docker_problem}; {BUILDAH_HINT}")
