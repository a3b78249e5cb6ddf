"""build-cache end to end: buildah builds the example service, a loopback registry stores it.

One shared build (session fixture) serves several assertions; the later tests rebuild the
same context, which reuses its layers, so the module stays well under a few minutes once
the base image is cached (see tests/support/baseimage.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from shipline.oci.client import RegistryClient
from tests.paths import NPM_MODULES
from tests.support.action_runner import ActionRun, run_action
from tests.support.baseimage import push_base_image
from tests.support.registry import LocalRegistry, free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = "examples/fastapi-service"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
SHA_ONE = "1" * 8 + "a" * 32
SHA_TWO = "2" * 8 + "b" * 32
SHA_HEAD = "3" * 8 + "c" * 32
SHA_MERGE = "4" * 8 + "d" * 32
SHA_OTHER = "5" * 8 + "e" * 32
MANIFEST_ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"

pytestmark = pytest.mark.slow


Run = ActionRun


def run_build(tmp: Path, extra_env: dict[str, str] | None = None, **inputs: str) -> Run:
    """``python -m shipline build-cache`` as a runner calls it, in the repository's workspace."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "no-auth.json").write_text('{"auths": {}}')  # buildah insists the file exists
    env = {
        "GITHUB_REPOSITORY": "shipline/orders",
        "REGISTRY_AUTH_FILE": str(tmp / "no-auth.json"),
        "DOCKER_CONFIG": str(tmp / "docker-config"),
        **(extra_env or {}),
    }
    return run_action("build-cache", ROOT, inputs, env=env, timeout=600)


def build_example(
    tmp: Path,
    registry_host: str,
    base_image: str,
    extra_env: dict[str, str] | None = None,
    **inputs: str,
) -> Run:
    """The example service built for ``<registry>/shop/orders`` on the test base image."""
    return run_build(
        tmp,
        extra_env,
        image=f"{registry_host}/shop/orders",
        context=EXAMPLE,
        **{"build-args": f"BASE_IMAGE={base_image}", "ca-bundle": CA_BUNDLE},
        **inputs,
    )


def registry_get(
    registry: LocalRegistry, path: str, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    url = f"{registry.url}{path}"
    request = urllib.request.Request(url, method=method, headers={"Accept": MANIFEST_ACCEPT})  # noqa: S310
    try:
        with urllib.request.urlopen(request) as answer:  # noqa: S310 (loopback registry)
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), b""


@pytest.fixture(scope="module")
def base_image(registry: LocalRegistry) -> str:
    return push_base_image(registry.host)


@pytest.fixture(scope="module")
def first_build(
    registry: LocalRegistry, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Run:
    run = build_example(
        tmp_path_factory.mktemp("first-build"),
        registry.host,
        base_image,
        sha=SHA_ONE,
        tags="v1.0.0",
    )
    assert run.code == 0, run.log
    return run


def test_outputs_name_the_pushed_image_and_its_registry_digest(
    first_build: Run, registry: LocalRegistry
) -> None:
    outputs = first_build.outputs
    repository = f"{registry.host}/shop/orders"
    assert outputs["image"] == f"{repository}:{SHA_ONE}"
    assert outputs["digest"].startswith("sha256:") and len(outputs["digest"]) == 71
    assert outputs["image-ref"] == f"{repository}@{outputs['digest']}"
    assert outputs["tags"].splitlines() == [f"{repository}:{SHA_ONE}", f"{repository}:v1.0.0"]
    assert outputs["builder"] == "buildah"
    assert outputs["cache-key"].startswith("deps-")
    assert int(outputs["size"]) > 10_000_000
    for tag in (SHA_ONE, "v1.0.0", outputs["digest"]):
        status, headers, _ = registry_get(
            registry, f"/v2/shop/orders/manifests/{tag}", method="HEAD"
        )
        assert status == 200
        assert headers["Docker-Content-Digest"] == outputs["digest"]


def test_image_carries_the_oci_labels(first_build: Run, registry: LocalRegistry) -> None:
    _, _, body = registry_get(
        registry, f"/v2/shop/orders/manifests/{first_build.outputs['digest']}"
    )
    config_digest = json.loads(body)["config"]["digest"]
    _, _, config = registry_get(registry, f"/v2/shop/orders/blobs/{config_digest}")
    labels = json.loads(config)["config"]["Labels"]
    assert labels["org.opencontainers.image.revision"] == SHA_ONE
    # Set in the registry in one go, not by build steps (buildah makes a step per --label).
    history = [entry.get("created_by", "") for entry in json.loads(config)["history"]]
    assert [entry for entry in history if "org.opencontainers.image" in entry] == [
        next(entry for entry in history if "org.opencontainers.image.revision" in entry)
    ]
    assert labels["org.opencontainers.image.version"] == "1.0.0"
    assert labels["org.opencontainers.image.source"] == "https://github.com/shipline/orders"
    assert labels["org.opencontainers.image.created"].endswith("Z")


def test_the_cache_repository_holds_layers_and_summary_reports_the_build(
    first_build: Run, registry: LocalRegistry
) -> None:
    status, _, body = registry_get(registry, "/v2/shop/orders-cache/tags/list")
    assert status == 200 and json.loads(body)["tags"]
    summary = first_build.summary
    assert f"`{registry.host}/shop/orders:{SHA_ONE}` ✅ pushed" in summary
    assert "| Build time |" in summary and "| Image size |" in summary
    assert "| Layers reused / rebuilt |" in summary
    assert "buildah (auto: " in summary
    assert (
        "notice",
        {"title": "build-cache"},
        f"pushed {first_build.outputs['image-ref']}",
    ) in first_build.commands


def test_the_image_runs_with_podman_and_answers_healthz(first_build: Run) -> None:
    port = free_port()
    name = f"shipline-build-test-{port}"
    podman = [
        "podman", "run", "--detach", "--rm", "--name", name, "--runtime", "runc",
        "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096", "--network", "host",
        "--tls-verify=false", first_build.outputs["image-ref"],
        "python", "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    started = subprocess.run(podman, capture_output=True, text=True, timeout=300, check=False)
    assert started.returncode == 0, started.stderr
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz", timeout=2
                ) as answer:
                    assert json.load(answer) == {"status": "ok"}
                    break
            except OSError:
                if time.monotonic() > deadline:
                    logs = subprocess.run(
                        ["podman", "logs", name], capture_output=True, text=True, check=False
                    )
                    pytest.fail(f"no answer on /healthz: {logs.stdout}{logs.stderr}")
                time.sleep(0.3)
        # The service runs as its own user and cannot rewrite its code (COPY ignores USER).
        probe = "import os; print(os.getuid(), os.access('/srv/app/main.py', os.W_OK))"
        inside = subprocess.run(
            ["podman", "exec", name, "python", "-c", probe],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert inside.stdout.split() == ["10001", "False"], inside.stderr
    finally:
        subprocess.run(
            ["podman", "rm", "--force", name], capture_output=True, check=False, timeout=60
        )


def test_an_existing_tag_naming_another_image_is_refused_and_nothing_is_tagged(
    first_build: Run, registry: LocalRegistry, base_image: str, tmp_path: Path
) -> None:
    run = build_example(
        tmp_path,
        registry.host,
        base_image,
        sha=SHA_TWO,
        tags="v1.0.0",
    )
    assert run.code == 1, run.log
    [error] = run.errors()
    assert "refusing to move immutable tag" in error
    assert f"shop/orders:v1.0.0 already names {first_build.outputs['digest']}" in error
    status, headers, _ = registry_get(registry, "/v2/shop/orders/manifests/v1.0.0", method="HEAD")
    assert headers["Docker-Content-Digest"] == first_build.outputs["digest"]
    status, _, _ = registry_get(registry, f"/v2/shop/orders/manifests/{SHA_TWO}", method="HEAD")
    assert status == 404  # the new commit's tag was not written either
    assert run.outputs == {}
    assert "❌ not pushed" in run.summary and "refusing to move immutable tag" in run.summary


def registry_state(registry: LocalRegistry) -> tuple[list[str], list[str], set[str]]:
    """The image's tags, the cache repository's tags and every manifest revision and blob stored."""
    tags = []
    for repository in ("shop/orders", "shop/orders-cache"):
        _, _, body = registry_get(registry, f"/v2/{repository}/tags/list")
        tags.append(sorted(json.loads(body)["tags"]))
    storage = registry.root / "data" / "docker" / "registry" / "v2"
    stored = {str(path.relative_to(storage)) for path in storage.rglob("*") if path.is_dir()}
    return tags[0], tags[1], stored


def test_a_rerun_of_the_same_commit_reuses_its_image_without_building_or_moving_a_tag(
    first_build: Run, registry: LocalRegistry, base_image: str, tmp_path: Path
) -> None:
    before = registry_state(registry)
    run = build_example(tmp_path, registry.host, base_image, sha=SHA_ONE, tags="v1.0.0")
    assert run.code == 0, run.log
    assert registry_state(registry) == before  # no tag, manifest or blob was added or moved
    outputs = first_build.outputs
    for name in ("image", "digest", "image-ref", "tags", "size", "cache-key"):
        assert run.outputs[name] == outputs[name], name
    assert run.outputs["reused"] == "true" and outputs["reused"] == "false"
    assert run.outputs["builder"] == "" and run.outputs["build-seconds"] == "0.0"
    assert "building" not in run.log
    assert f"Reused the image already built for this commit: `{outputs['digest']}`" in run.summary
    assert f"| Digest | {outputs['digest']} |" in run.summary
    assert ("notice", {"title": "build-cache"}, f"reused {outputs['image-ref']}") in run.commands


def test_without_reuse_a_rerun_of_the_same_commit_is_refused_as_before(
    first_build: Run, registry: LocalRegistry, base_image: str, tmp_path: Path
) -> None:
    image_tags, _, _ = registry_state(registry)
    run = build_example(
        tmp_path,
        registry.host,
        base_image,
        sha=SHA_ONE,
        tags="v1.0.0",
        **{"reuse-existing": "false"},
    )
    assert run.code == 1, run.log
    assert "building" in run.log  # today's order: build, then find the tags taken
    [error] = run.errors()
    assert "refusing to move immutable tag" in error and "(this build is sha256:" in error
    assert f"shop/orders:{SHA_ONE} already names {first_build.outputs['digest']}" in error
    assert registry_state(registry)[0] == image_tags
    for tag in (SHA_ONE, "v1.0.0"):
        _, headers, _ = registry_get(registry, f"/v2/shop/orders/manifests/{tag}", method="HEAD")
        assert headers["Docker-Content-Digest"] == first_build.outputs["digest"]
    assert run.outputs == {}


def test_a_tag_naming_another_commits_image_is_refused_even_with_reuse(
    first_build: Run, registry: LocalRegistry, base_image: str, tmp_path: Path
) -> None:
    # SHA_OTHER's tag names the image built from SHA_ONE (its revision label says so).
    client = RegistryClient(registry.host)
    manifest = client.get_manifest("shop/orders", first_build.outputs["digest"])
    assert manifest is not None
    client.put_manifest("shop/orders", SHA_OTHER, manifest.content, manifest.media_type)
    before = registry_state(registry)
    run = build_example(tmp_path, registry.host, base_image, sha=SHA_OTHER)
    assert run.code == 1, run.log
    [error] = run.errors()
    assert "refusing to move immutable tag" in error
    assert f"built from commit {SHA_ONE}, not {SHA_OTHER}" in error
    assert "building" not in run.log  # refused before any build
    assert registry_state(registry) == before
    assert run.outputs == {}
    assert "❌ not pushed" in run.summary


def test_a_rebuild_of_an_unchanged_context_reuses_every_layer(
    first_build: Run, registry: LocalRegistry, base_image: str, tmp_path: Path
) -> None:
    run = build_example(
        tmp_path,
        registry.host,
        base_image,
        sha=SHA_TWO,
    )
    assert run.code == 0, run.log
    reused = re.search(r"\| Layers reused / rebuilt \| (\d+) / (\d+) \|", run.summary)
    assert reused is not None and int(reused.group(1)) >= 3 and reused.group(2) == "0", run.summary
    assert run.outputs["digest"] != first_build.outputs["digest"]  # new revision label
    assert run.outputs["cache-key"] == first_build.outputs["cache-key"]


def test_wrong_registry_password_fails_clearly_without_retrying_or_printing_it(
    auth_registry: LocalRegistry, tmp_path: Path
) -> None:
    run = run_build(
        tmp_path,
        image=f"{auth_registry.host}/shop/orders",
        context=EXAMPLE,
        sha=SHA_ONE,
        username="shipline",
        password="not-the-password",
    )
    assert run.code == 1, run.log
    [error] = run.errors()
    assert f"{auth_registry.host} refused the credentials of user 'shipline'" in error
    assert "not retried" in error
    assert "not-the-password" not in run.log.replace("::add-mask::not-the-password", "")
    assert "building" not in run.log  # the ping failed before any build started


def test_right_credentials_reach_the_builder_through_a_file_and_are_masked(
    first_build: Run, auth_registry: LocalRegistry, base_image: str, tmp_path: Path
) -> None:
    run = build_example(
        tmp_path,
        auth_registry.host,
        base_image,
        sha=SHA_ONE,
        username="shipline",
        password="s3cret-pass",
    )
    assert run.code == 0, run.log
    assert ("add-mask", {}, "s3cret-pass") in run.commands
    assert run.log.count("s3cret-pass") == 1  # only inside the add-mask command
    assert "s3cret-pass" not in run.summary
    assert run.outputs["image-ref"].startswith(f"{auth_registry.host}/shop/orders@sha256:")


def test_on_pull_requests_the_image_is_tagged_with_the_head_commit(
    first_build: Run, registry: LocalRegistry, base_image: str, tmp_path: Path
) -> None:
    examples = json.loads(
        (
            NPM_MODULES / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json"
        ).read_text()
    )
    payload = next(e for e in examples if e["name"] == "pull_request")["examples"][0]
    payload["pull_request"]["head"]["sha"] = SHA_HEAD
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payload))
    run = build_example(
        tmp_path,
        registry.host,
        base_image,
        extra_env={
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_SHA": SHA_MERGE,
        },
    )
    assert run.code == 0, run.log
    assert run.outputs["image"] == f"{registry.host}/shop/orders:{SHA_HEAD}"
    status, _, _ = registry_get(registry, f"/v2/shop/orders/manifests/{SHA_MERGE}", method="HEAD")
    assert status == 404
