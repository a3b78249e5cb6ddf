from __future__ import annotations

import html
import itertools
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from shipline.build.action import failure_summary
from shipline.build.api import BuildRequest, check_request
from shipline.build.builders import (
    BuildahBuilder,
    BuilderKind,
    BuildPlan,
    BuildxBuilder,
    CacheMode,
    buildah_build_command,
    buildah_stage_command,
    buildah_step_stats,
    buildx_build_command,
    buildx_digest,
    buildx_step_stats,
    select_builder,
)
from shipline.errors import ToolFailedError, ToolMissingError, UsageError
from shipline.oci.client import RegistryClient, RetryPolicy
from shipline.oci.reference import parse_repository
from shipline.tools import run_tool
from tests.support.markdown import github_html

SHA = "0123456789abcdef0123456789abcdef01234567"
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "fastapi-service"

BUILDAH_LOG = """\
STEP 1/6: FROM 127.0.0.1:5000/base/python:bookworm
STEP 2/6: WORKDIR /srv
--> Using cache 1a43b57a0f58
--> 1a43b57a0f5
STEP 3/6: COPY requirements.txt ./
--> Cache pulled from remote 127.0.0.1:5000/app-cache:2cbc973d
--> Using cache 52e3f8a361fe
STEP 4/6: RUN pip install -r requirements.txt
--> Using cache 0f33a22b77d3
STEP 5/6: COPY app/ ./app/
--> fa026d462cf
STEP 6/6: LABEL "org.opencontainers.image.revision"="abc"
--> 749beebc883
"""

BUILDX_LOG = """\
#1 [internal] load build definition from Dockerfile
#5 [1/4] FROM docker.io/library/python:3.12-slim@sha256:aa
#5 CACHED
#6 [2/4] WORKDIR /srv
#6 CACHED
#7 [3/4] RUN pip install -r requirements.txt
#7 CACHED
#8 [4/4] COPY app/ ./app/
#8 DONE 0.1s
"""


def plan(tmp_path: Path, **changes: object) -> BuildPlan:
    values: dict[str, object] = {
        "context": EXAMPLE,
        "dockerfile": EXAMPLE / "Dockerfile",
        "repository": parse_repository("127.0.0.1:5000/shop/orders"),
        "local_name": f"localhost/shipline-build/shop/orders:{SHA}",
        "labels": {"org.opencontainers.image.revision": SHA},
        "build_args": {"BASE_IMAGE": "127.0.0.1:5000/base/python:bookworm"},
        "cache": CacheMode.REGISTRY,
        "cache_repository": "127.0.0.1:5000/shop/orders-cache",
        "staging_repository": "127.0.0.1:5000/shop/orders-cache",
        "insecure": True,
        "timeout": 60.0,
        "workdir": tmp_path,
        "auth_file": tmp_path / "auth" / "config.json",
        "ca_bundle": Path("/etc/ssl/certs/ca-certificates.crt"),
    }
    values.update(changes)
    return BuildPlan(**values)  # type: ignore[arg-type]


def test_buildah_builds_with_layers_registry_cache_labels_and_no_credentials_in_argv(
    tmp_path: Path,
) -> None:
    args = buildah_build_command("buildah", plan(tmp_path))
    assert args[:5] == ["buildah", "build", "--isolation", "chroot", "--layers"]
    pairs = list(itertools.pairwise(args))
    assert ("--cache-from", "127.0.0.1:5000/shop/orders-cache") in pairs
    assert ("--cache-to", "127.0.0.1:5000/shop/orders-cache") in pairs
    assert ("--file", str(EXAMPLE / "Dockerfile")) in pairs
    assert "--label" not in args  # set in the registry afterwards: no per-commit build step
    assert ("--build-arg", "BASE_IMAGE=127.0.0.1:5000/base/python:bookworm") in pairs
    assert ("--authfile", str(tmp_path / "auth" / "config.json")) in pairs
    assert (
        "--volume",
        "/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro",
    ) in pairs
    assert "--tls-verify=false" in args and args[-1] == str(EXAMPLE)
    assert not any("--creds" in arg for arg in args)
    without_cache = buildah_build_command(
        "buildah", plan(tmp_path, cache=CacheMode.NONE, cache_repository=None, insecure=False)
    )
    assert "--cache-to" not in without_cache and "--tls-verify=false" not in without_cache


def test_buildah_stages_under_a_push_tag_of_the_staging_repository_with_a_digest_file(
    tmp_path: Path,
) -> None:
    args = buildah_stage_command("buildah", plan(tmp_path), tmp_path / "digest")
    assert args[-1] == f"docker://127.0.0.1:5000/shop/orders-cache:push-{SHA}"
    assert ("--digestfile", str(tmp_path / "digest")) in list(itertools.pairwise(args))


def test_buildx_pushes_by_digest_with_registry_or_gha_cache(tmp_path: Path) -> None:
    args = buildx_build_command("docker", plan(tmp_path), tmp_path / "meta.json")
    assert args[:3] == ["docker", "buildx", "build"]
    output = args[args.index("--output") + 1]
    assert output.startswith("type=image,name=127.0.0.1:5000/shop/orders,push-by-digest=true,")
    assert "push=true" in output and "registry.insecure=true" in output
    assert (
        "--cache-to",
        "type=registry,ref=127.0.0.1:5000/shop/orders-cache:buildcache,mode=max,registry.insecure=true",
    ) in list(itertools.pairwise(args))
    gha = buildx_build_command(
        "docker", plan(tmp_path, cache=CacheMode.GHA, insecure=False), tmp_path / "m.json"
    )
    assert gha[gha.index("--cache-to") + 1] == "type=gha,scope=shipline,mode=max"
    assert "--volume" not in gha  # buildx has no build volumes


def test_step_statistics_tell_reused_from_rebuilt_layers() -> None:
    stats = buildah_step_stats(BUILDAH_LOG)
    assert (stats.reused, stats.rebuilt, stats.layers_reused, stats.layers_rebuilt) == (3, 2, 2, 1)
    stats = buildx_step_stats(BUILDX_LOG)
    assert (stats.reused, stats.rebuilt, stats.layers_reused, stats.layers_rebuilt) == (2, 1, 1, 1)


def test_buildx_metadata_must_name_a_digest() -> None:
    assert buildx_digest({"containerimage.digest": "sha256:" + "0" * 64}) == "sha256:" + "0" * 64
    with pytest.raises(ToolFailedError, match=r"containerimage\.digest"):
        buildx_digest({})


def fake_tool(directory: Path, name: str, exit_code: int) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\nexit {exit_code}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_auto_prefers_a_working_buildx_and_says_why_it_fell_back(tmp_path: Path) -> None:
    fake_tool(tmp_path, "buildah", 0)
    fake_tool(tmp_path, "docker", 1)  # no buildx plugin
    builder, reason = select_builder(BuilderKind.AUTO, {"PATH": str(tmp_path)})
    assert (
        isinstance(builder, BuildahBuilder)
        and reason == "auto: docker has no buildx plugin, buildah is installed"
    )
    fake_tool(tmp_path, "docker", 0)
    builder, reason = select_builder(BuilderKind.AUTO, {"PATH": str(tmp_path)})
    assert isinstance(builder, BuildxBuilder) and reason == "auto: docker buildx is available"
    with pytest.raises(ToolMissingError, match="buildah"):
        select_builder(BuilderKind.BUILDAH, {"PATH": str(tmp_path / "empty")})


def request(**changes: object) -> BuildRequest:
    values: dict[str, object] = {
        "context": EXAMPLE,
        "image": "127.0.0.1:5000/shop/orders",
        "sha": SHA,
    }
    values.update(changes)
    return BuildRequest(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"context": EXAMPLE / "missing"}, "input 'context' got"),
        ({"dockerfile": EXAMPLE / "Nope"}, "input 'dockerfile' got"),
        ({"image": "127.0.0.1:5000/Shop/Orders"}, "input 'image' got"),
        ({"image": "127.0.0.1:5000/shop/orders:latest"}, "give the repository alone"),
        ({"sha": "abc123"}, "expected a full commit SHA"),
        ({"tags": ["latest"]}, "input 'tags' got 'latest': refused"),
        ({"tags": ["main"]}, "looks mutable"),
        ({"cache_repository": "ghcr.io/x/cache"}, "expected a repository on 127.0.0.1:5000"),
        ({"labels": {"team": "a\nb"}}, "input 'labels' got 'team=a\nb'"),
        ({"labels": {"my team": "a"}}, "input 'labels' got 'my team=a'"),
    ],
)
def test_bad_requests_are_refused_before_anything_runs(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        check_request(request(**changes))


def test_labels_carry_revision_version_source_and_created() -> None:
    checked = check_request(request(tags=["v2.0.1"], source="https://github.com/o/r"))
    assert checked.labels["org.opencontainers.image.revision"] == SHA
    assert checked.labels["org.opencontainers.image.version"] == "2.0.1"
    assert checked.labels["org.opencontainers.image.source"] == "https://github.com/o/r"
    assert checked.tags == [SHA, "v2.0.1"] and checked.insecure


@pytest.mark.parametrize(
    ("inputs", "fragment"),
    [
        ({"IMAGE": "127.0.0.1:5000/shop/orders", "TAGS": "latest"}, "input 'tags' got 'latest'"),
        (
            {"IMAGE": "127.0.0.1:5000/shop/orders", "CONTEXT": "examples/missing"},
            "input 'context' got",
        ),
        ({"IMAGE": "not a name!"}, "input 'image' got 'not a name!'"),
        ({"IMAGE": "127.0.0.1:5000/a", "USERNAME": "u"}, "go together"),
        (
            {"IMAGE": "127.0.0.1:5000/a", "REUSE_EXISTING": "maybe"},
            "input 'reuse-existing' got 'maybe'",
        ),
    ],
)
def test_the_cli_exits_2_with_one_error_line_for_bad_input(
    inputs: dict[str, str], fragment: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    env.update(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(ROOT),
            "INPUT_SHA": SHA,
            "INPUT_CONTEXT": "examples/fastapi-service",
        }
    )
    env.update({f"INPUT_{k}": v for k, v in inputs.items()})
    done = subprocess.run(
        [sys.executable, "-m", "shipline", "build-cache"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("::error") and fragment in lines[0]


FAKE_BUILDAH = """#!/bin/sh
# Stands in for buildah: `build` succeeds; `push` fails while the failure file has lines.
calls="$(dirname "$0")/calls"
echo "$1" >> "$calls"
if [ "$1" = build ]; then echo "STEP 1/2: FROM base"; echo "STEP 2/2: RUN true"; exit 0; fi
failures="$(dirname "$0")/failures"
if [ -s "$failures" ]; then
  head -n 1 "$failures" >&2
  tail -n +2 "$failures" > "$failures.next"; mv "$failures.next" "$failures"
  exit 125
fi
while [ "$1" != "--digestfile" ]; do shift; done
printf 'sha256:%064d' 0 > "$2"
"""


OFFLINE_CLIENT = RegistryClient("127.0.0.1:9", insecure=True)  # never called: no labels to set


def fake_buildah(tmp_path: Path, failures: list[str]) -> tuple[BuildahBuilder, list[float]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "buildah"
    script.write_text(FAKE_BUILDAH)
    script.chmod(0o755)
    (bin_dir / "failures").write_text("".join(f"{line}\n" for line in failures))
    sleeps: list[float] = []
    return BuildahBuilder(str(script), retry=RetryPolicy(attempts=3), sleep=sleeps.append), sleeps


def calls(tmp_path: Path) -> list[str]:
    return (tmp_path / "bin" / "calls").read_text().split()


def test_the_staging_push_is_retried_on_server_errors(tmp_path: Path) -> None:
    failures = [
        "Error: writing manifest: received unexpected HTTP status: 503 Service Unavailable",
        "Error: trying to reuse blob: connection reset by peer",
    ]
    builder, sleeps = fake_buildah(tmp_path, failures)
    built = builder.build(plan(tmp_path, labels={}), OFFLINE_CLIENT)
    assert built.digest == "sha256:" + "0" * 64
    assert calls(tmp_path) == ["build", "push", "push", "push"] and len(sleeps) == 2
    assert (built.steps.layers_rebuilt, built.steps.layers_reused) == (1, 0)


def test_the_staging_push_is_not_retried_on_auth_failures_or_without_end(tmp_path: Path) -> None:
    builder, sleeps = fake_buildah(tmp_path, ["Error: unauthorized: authentication required"])
    with pytest.raises(ToolFailedError, match="authentication required"):
        builder.build(plan(tmp_path, labels={}), OFFLINE_CLIENT)
    assert calls(tmp_path) == ["build", "push"] and sleeps == []


def test_the_staging_push_gives_up_after_the_bounded_attempts(tmp_path: Path) -> None:
    builder, sleeps = fake_buildah(tmp_path, ["Error: 502 Bad Gateway"] * 5)
    with pytest.raises(ToolFailedError, match="502 Bad Gateway"):
        builder.build(plan(tmp_path, labels={}), OFFLINE_CLIENT)
    assert calls(tmp_path).count("push") == 3 and len(sleeps) == 2


def test_a_failed_build_s_output_shows_as_written_in_the_summary(tmp_path: Path) -> None:
    # the builder's last lines carry what the pull request's RUN steps print
    printed = "#5 [2/2] RUN echo '<img src=//e.test/x.png> [**Approve**](//e.test)'\n```\n# done"
    builder = tmp_path / "buildah"
    builder.write_text(f"#!/bin/sh\ncat >&2 <<'END'\n{printed}\nEND\nexit 1\n")
    builder.chmod(builder.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(ToolFailedError) as raised:
        run_tool([str(builder)], cwd=tmp_path, timeout=30)
    markdown = failure_summary(request(), raised.value).markdown()
    rendered = github_html(markdown)
    assert "<img" not in rendered and "<strong>" not in rendered and "<a " not in rendered
    code = rendered.split("<pre><code>")[1].split("</code></pre>")[0]
    tail = " | ".join(printed.splitlines())  # the tool's last lines, as run_tool joins them
    assert html.unescape(code) == f"buildah failed with exit code 1: {tail}\n"
