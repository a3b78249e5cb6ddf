"""``shipline build-cache``: inputs -> BuildRequest -> build_and_push -> outputs and summary."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

from shipline.build.api import BuildRequest, BuildResult, build_and_push, check_request
from shipline.build.builders import BuilderKind, CacheMode
from shipline.build.tags import EventError, event_commit_sha
from shipline.context import ActionContext
from shipline.errors import ShiplineError, UsageError
from shipline.gha.inputs import InputError, Inputs
from shipline.gha.summary import Summary, code_span, inline
from shipline.oci.auth import Credentials
from shipline.tools import find_tool, run_tool


class Insecure(StrEnum):
    AUTO = "auto"
    TRUE = "true"
    FALSE = "false"


def _pairs(inputs: Inputs, name: str) -> dict[str, str]:
    """``NAME=value`` lines (values may hold commas, so only newlines separate items)."""
    pairs: dict[str, str] = {}
    for line in inputs.raw(name).splitlines():
        if not line.strip():
            continue
        key, equals, value = line.strip().partition("=")
        if not equals or not key.strip():
            raise InputError(name, line.strip(), "NAME=value lines")
        pairs[key.strip()] = value.strip()
    return pairs


def commit_sha(inputs: Inputs, environ: Mapping[str, str]) -> str:
    given = inputs.raw("sha")
    if given:
        return given.lower()
    try:
        sha = event_commit_sha(environ)
    except EventError as error:
        raise UsageError(f"input 'sha' is empty and {error}") from None
    if sha:
        return sha
    try:
        git = find_tool("git", "apt-get install git")
        head = run_tool([git, "rev-parse", "HEAD"], cwd=inputs.workspace, timeout=30)
    except ShiplineError:
        raise UsageError(
            "input 'sha' is empty, GITHUB_SHA is not set and the workspace is not a git checkout: "
            "give the commit SHA"
        ) from None
    return head.stdout.strip()


def request_from_inputs(inputs: Inputs, environ: Mapping[str, str]) -> BuildRequest:
    """Parse and check every input; nothing runs before this returns."""
    context = inputs.path("context", must_exist=True)
    dockerfile = inputs.optional_path("dockerfile")
    username, password = inputs.raw("username"), inputs.raw("password")
    if bool(username) != bool(password):
        raise UsageError("inputs 'username' and 'password' go together: give both or neither")
    insecure = inputs.choice("insecure", Insecure)
    reuse_existing = inputs.boolean("reuse-existing")
    source = inputs.raw("source")
    if not source and environ.get("GITHUB_REPOSITORY"):
        server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        source = f"{server}/{environ['GITHUB_REPOSITORY']}"
    ca_bundle = inputs.raw("ca-bundle")
    request = BuildRequest(
        context=context,
        image=inputs.raw("image"),
        sha=commit_sha(inputs, environ),
        dockerfile=dockerfile,
        tags=inputs.items("tags"),
        builder=inputs.choice("builder", BuilderKind),
        cache=inputs.choice("cache", CacheMode),
        cache_repository=inputs.raw("cache-repository") or None,
        build_args=_pairs(inputs, "build-args"),
        labels=_pairs(inputs, "labels"),
        source=source or None,
        version=inputs.raw("version") or None,
        credentials=Credentials(username, password) if username else None,
        insecure=None if insecure is Insecure.AUTO else insecure is Insecure.TRUE,
        ca_bundle=Path(ca_bundle) if ca_bundle else None,
        timeout=inputs.duration("timeout"),
        environ=dict(environ),
        reuse_existing=reuse_existing,
    )
    if request.cache is CacheMode.GHA and request.builder is BuilderKind.BUILDAH:
        raise UsageError(
            "input 'cache' got 'gha': the GitHub Actions cache needs builder docker or auto"
        )
    check_request(request)
    return request


def run(context: ActionContext) -> int:
    password = context.inputs.raw("password")
    if password:
        context.console.mask(password)
    request = request_from_inputs(context.inputs, context.environ)
    with context.console.group(f"build-cache {request.image}"):
        try:
            result = build_and_push(request, progress=context.console.info)
        except ShiplineError as error:
            context.write_summary(failure_summary(request, error))
            raise
    outputs = {
        "image": result.image,
        "digest": result.digest,
        "image-ref": result.image_ref,
        "tags": "\n".join(result.tags),
        "cache-key": result.cache_key,
        "builder": result.builder,
        "size": result.size,
        "build-seconds": f"{result.build_seconds:.1f}",
        "reused": "true" if result.reused else "false",
    }
    for name, value in outputs.items():
        context.files.set_output(name, value)
    if result.reused:
        context.console.notice(f"reused {result.image_ref}", title="build-cache")
        context.write_summary(reuse_summary(result))
    else:
        context.console.notice(f"pushed {result.image_ref}", title="build-cache")
        context.write_summary(summary(result))
    return 0


def failure_summary(request: BuildRequest, error: ShiplineError) -> Summary:
    """What went wrong, for the reviewer; no tag was written (see build_and_push)."""
    report = Summary().heading(f"Image {code_span(request.image)} ❌ not pushed")
    report.code(str(error))  # the builder's last lines: the Dockerfile's RUN steps print there
    return report.paragraph(
        "No tag points at an incomplete image: tags are written only once the image is complete "
        "in the registry, and an existing tag is never moved."
    )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def reuse_summary(result: BuildResult) -> Summary:
    """A rerun of a commit already built: which image, and that nothing moved."""
    report = Summary().heading(f"Image {code_span(result.image)} ♻️ reused")
    report.paragraph(
        f"Reused the image already built for this commit: `{result.digest}`. Nothing was built "
        "or pushed and no tag was moved: every requested tag already named this image, whose "
        f"revision label is {result.labels.get('org.opencontainers.image.revision', '')}."
    )
    report.table(
        ["Item", "Value"],
        [
            ["Digest", result.digest],
            ["Tags", "\n".join(result.tags)],
            ["Image size", _megabytes(result.size)],
            ["Dependency cache key", result.cache_key or "(no lock file)"],
            ["Lock files", ", ".join(result.lock_files) or "none"],
        ],
    )
    report.details("Labels", Summary().table(["Label", "Value"], sorted(result.labels.items())))
    return report


def summary(result: BuildResult) -> Summary:
    steps = result.steps
    report = Summary().heading(f"Image {code_span(result.image)} ✅ pushed")
    report.table(
        ["Item", "Value"],
        [
            ["Digest", result.digest],
            ["Tags", "\n".join(result.tags)],
            ["Builder", f"{result.builder} ({result.builder_reason})"],
            ["Build time", f"{result.build_seconds:.1f} s"],
            ["Push and tag time", f"{result.push_seconds:.1f} s"],
            ["Image size", _megabytes(result.size)],
            ["Layers reused / rebuilt", f"{steps.layers_reused} / {steps.layers_rebuilt}"],
            ["Steps reused / rebuilt", f"{steps.reused} / {steps.rebuilt}"],
            ["Dependency cache key", result.cache_key or "(no lock file)"],
            ["Lock files", ", ".join(result.lock_files) or "none"],
        ],
    )
    if result.already_tagged:
        report.paragraph(
            f"Already tagged with this digest: {inline(', '.join(result.already_tagged))}."
        )
    report.details("Labels", Summary().table(["Label", "Value"], sorted(result.labels.items())))
    return report
