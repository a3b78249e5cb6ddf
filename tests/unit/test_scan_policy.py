"""The shipped Rego policies, evaluated by the real regopy on good and bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipline.errors import ToolFailedError
from shipline.findings import Finding, Severity
from shipline.scan.policy import (
    SHIPPED_POLICIES,
    PolicyError,
    PolicySet,
    dockerfile_document,
    image_document,
    is_kubernetes_manifest,
    kubernetes_documents,
    parse_dockerfile,
)
from tests.support.yaml_bombs import aliases_of_aliases, nested_anchors

DATA = Path(__file__).resolve().parent.parent / "data" / "scan"


@pytest.fixture(scope="module")
def shipped() -> PolicySet:
    return PolicySet([SHIPPED_POLICIES])


def found(findings: list[Finding]) -> set[tuple[str, int | None, Severity | None]]:
    return {(f.rule_id, f.location.line if f.location else None, f.severity) for f in findings}


def test_good_manifest_and_dockerfile_pass(shipped: PolicySet) -> None:
    documents = kubernetes_documents(DATA / "manifests" / "good.yaml", "deploy/good.yaml")
    assert [d.input["object"]["kind"] for d in documents] == ["Deployment", "Service"]
    documents.append(
        dockerfile_document(DATA / "dockerfiles" / "good.Dockerfile", "good.Dockerfile")
    )
    documents.append(
        image_document(
            "registry.example.com/app@sha256:" + "a" * 64, {"config": {"User": "10001:10001"}}
        )
    )
    assert shipped.evaluate(documents) == []


def test_bad_manifest_breaks_every_kubernetes_policy_on_its_line(shipped: PolicySet) -> None:
    findings = shipped.evaluate(
        kubernetes_documents(DATA / "manifests" / "bad.yaml", "deploy/bad.yaml")
    )
    assert {f.location.path for f in findings if f.location} == {"deploy/bad.yaml"}
    assert found(findings) == {
        ("SHIP-005", 14, Severity.HIGH),  # hostNetwork
        ("SHIP-005", 15, Severity.HIGH),  # hostPID
        ("SHIP-001", 17, Severity.HIGH),  # worker: no runAsNonRoot
        ("SHIP-004", 17, Severity.HIGH),  # worker: no limits
        ("SHIP-002", 18, Severity.HIGH),  # worker: :latest
        ("SHIP-005", 20, Severity.CRITICAL),  # worker: privileged
        ("SHIP-001", 21, Severity.HIGH),  # sidecar: may run as root
        ("SHIP-004", 21, Severity.HIGH),  # sidecar: no cpu limit (memory is set)
        ("SHIP-002", 22, Severity.HIGH),  # sidecar: busybox, untagged
        ("SHIP-001", 24, Severity.HIGH),  # sidecar: runAsUser 0
    }
    limits = sorted(f.message for f in findings if f.rule_id == "SHIP-004")
    assert limits == [
        "container sidecar sets no cpu limit (resources.limits.cpu)",
        "container worker sets no cpu limit (resources.limits.cpu)",
        "container worker sets no memory limit (resources.limits.memory)",
    ]


def test_a_tagged_but_unpinned_deployment_image_must_use_a_digest_or_sha_tag(
    shipped: PolicySet, tmp_path: Path
) -> None:
    good = (DATA / "manifests" / "good.yaml").read_text()
    manifest = tmp_path / "m.yaml"
    for image, ids in [
        ("registry.example.com/shop/service:1.4.2", {"SHIP-003"}),
        ("registry.example.com/shop/service:sha-3f9c2ab", set()),
        ("registry.example.com/shop/service:3f9c2ab41d0e", set()),
        ("registry.example.com:5000/shop/service", {"SHIP-002"}),
    ]:
        manifest.write_text(
            good.replace(
                "registry.example.com/shop/service@sha256:4f2fc2b3f8a6b4d5e9a1b0c7d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4",
                image,
            )
        )
        assert {
            f.rule_id for f in shipped.evaluate(kubernetes_documents(manifest, "m.yaml"))
        } == ids, image


def test_a_manifest_whose_aliases_name_billions_of_nodes_is_refused(
    shipped: PolicySet, tmp_path: Path
) -> None:
    # the policy engine reads the manifest as JSON: nine lines would make 5.8 GB of it
    manifest = tmp_path / "bomb.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\ndata:\n" + aliases_of_aliases(9, "  "))
    with pytest.raises(ToolFailedError) as raised:
        kubernetes_documents(manifest, "deploy/bomb.yaml")
    assert str(raised.value) == (
        "deploy/bomb.yaml: its YAML aliases copy more than 100000 nodes: refused"
    )
    # anchors for repeated blocks, as manifests use them, are read as before
    good = (DATA / "manifests" / "good.yaml").read_text()
    good = good.replace(
        "    matchLabels:\n      app: service", "    matchLabels: &app\n      app: service"
    )
    good = good.replace("      labels:\n        app: service", "      labels: *app")
    assert good.count("*app") == 1
    extra = "---\napiVersion: v1\nkind: ConfigMap\ndata:\n" + aliases_of_aliases(4, "  ")
    manifest.write_text(good + extra)
    documents = kubernetes_documents(manifest, "deploy/good.yaml")
    plain = kubernetes_documents(DATA / "manifests" / "good.yaml", "deploy/good.yaml")
    assert [d.input for d in documents[:-1]] == [d.input for d in plain]
    assert len(documents) == len(plain) + 1 and not shipped.evaluate(documents)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # one budget for the file: 200 documents each well under it (577 s of CPU before)
        (
            "".join(
                f"---\napiVersion: v1\nkind: ConfigMap\ndata:\n{aliases_of_aliases(3, '  ')}"
                f"  all: [{', '.join(['*a2'] * 100)}]\n"
                for _ in range(200)
            ),
            "its YAML aliases copy more than 100000 nodes",
        ),
        # one long string aliased: 40 MB of JSON from a 100 KB file
        (
            "apiVersion: v1\nkind: ConfigMap\ndata:\n  s: &s "
            + "x" * 100_000
            + "\n  all: ["
            + ", ".join(["*s"] * 400)
            + "]\n",
            "its YAML aliases copy more than 10000000 characters",
        ),
        # anchors nested in each other: composing recurses 30 levels, json.dumps 300
        (
            "apiVersion: v1\nkind: ConfigMap\ndata:\n" + nested_anchors(10, 30, "  "),
            "nests more than 200 levels deep",
        ),
    ],
)
def test_a_manifest_whose_aliases_copy_past_any_manifest_is_refused(
    tmp_path: Path, text: str, message: str
) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(text)
    with pytest.raises(ToolFailedError) as raised:
        kubernetes_documents(manifest, "deploy/m.yaml")
    assert str(raised.value) == f"deploy/m.yaml: {message}: refused"


def test_a_manifest_is_read_as_kubernetes_reads_it_and_what_it_cannot_is_refused(
    shipped: PolicySet, tmp_path: Path
) -> None:
    manifest = tmp_path / "m.yaml"
    # kubectl reads a date, !!binary and an unknown tag's value as text, a !!set as a mapping
    for value, data in [
        ("2024-01-01", "2024-01-01"),
        ("!!binary aGVsbG8=", "aGVsbG8="),
        ("!vault secret/db", "secret/db"),
        ("!!set {a}", {"a": None}),
    ]:
        manifest.write_text(f"apiVersion: v1\nkind: ConfigMap\ndata:\n  x: {value}\n")
        (document,) = kubernetes_documents(manifest, "m.yaml")
        assert document.input["object"]["data"] == {"x": data}
    # so a tag cannot hide a privileged workload from the policies
    bad = (DATA / "manifests" / "bad.yaml").read_text()
    manifest.write_text(bad.replace("privileged: true", "privileged: !note true"))
    plain = shipped.evaluate(kubernetes_documents(DATA / "manifests" / "bad.yaml", "m.yaml"))
    assert found(shipped.evaluate(kubernetes_documents(manifest, "m.yaml"))) == found(plain)
    for value, said in [
        ("!!float .nan", "holds a value JSON cannot: Out of range float values"),
        ("!!bool maybe", "is not readable YAML: !!bool cannot hold 'maybe'"),
        ("0x" + "f" * 200, "is not readable YAML: !!int cannot hold '0xfff"),
    ]:
        manifest.write_text(f"apiVersion: v1\nkind: ConfigMap\ndata:\n  x: {value}\n")
        with pytest.raises(ToolFailedError, match=f"^m.yaml {said}"):
            kubernetes_documents(manifest, "m.yaml")


def test_a_list_s_objects_and_a_json_manifest_are_checked_like_any(
    shipped: PolicySet, tmp_path: Path
) -> None:
    bad = DATA / "manifests" / "bad.yaml"
    plain = found(shipped.evaluate(kubernetes_documents(bad, "m.yaml")))
    # what `kubectl get -o yaml` writes, and kubectl applies object by object
    items = "".join(f"    {line}\n" if line else "\n" for line in bad.read_text().splitlines())
    listed = tmp_path / "list.yaml"
    listed.write_text("apiVersion: v1\nkind: List\nitems:\n  -\n" + items)
    shifted = {(rule, line + 4 if line else line, severity) for rule, line, severity in plain}
    assert found(shipped.evaluate(kubernetes_documents(listed, "m.yaml"))) == shifted
    # JSON is YAML too: found by its quoted keys
    as_json = tmp_path / "deploy.json.yaml"
    as_json.write_text(json.dumps(kubernetes_documents(bad, "m.yaml")[0].input["object"]))
    assert is_kubernetes_manifest(as_json)
    rules = {rule for rule, _, _ in plain}
    assert {f.rule_id for f in shipped.evaluate(kubernetes_documents(as_json, "m.yaml"))} == rules


def test_dockerfile_policies_follow_build_args_and_stages(shipped: PolicySet) -> None:
    findings = shipped.evaluate(
        [dockerfile_document(DATA / "dockerfiles" / "root.Dockerfile", "root.Dockerfile")]
    )
    assert found(findings) == {
        ("SHIP-003", 2, Severity.MEDIUM),  # FROM ${BASE} = python:3.12-slim, not by digest
        ("SHIP-002", 5, Severity.HIGH),  # FROM python:latest
        ("SHIP-001", 7, Severity.HIGH),  # USER root in the final stage
    }
    no_user = shipped.evaluate(
        [dockerfile_document(DATA / "vulnerable-app" / "Dockerfile", "Dockerfile")]
    )
    assert ("SHIP-001", 1, Severity.HIGH) in found(no_user)


def test_dockerfile_parser_joins_continuations_and_marks_stage_references() -> None:
    parsed = parse_dockerfile(
        "# syntax=docker/dockerfile:1\nARG BASE=python:3.12\nFROM --platform=$BUILDPLATFORM ${BASE} AS build\n"
        "RUN echo a \\\n  && echo b\nFROM build\nUSER 10001:10001\n"
    )
    assert parsed == {
        "stages": [
            {"base": "python:3.12", "line": 3, "alias": "build", "stage_reference": False},
            {"base": "build", "line": 6, "alias": None, "stage_reference": True},
        ],
        "users": [{"user": "10001:10001", "line": 7, "stage": 1}],
        "final_stage": 1,
    }


@pytest.mark.parametrize(
    ("user", "blocked"),
    [("", True), ("root", True), ("0:0", True), ("0", True), ("10001", False), ("app", False)],
)
def test_image_config_must_name_a_non_root_user(
    shipped: PolicySet, user: str, blocked: bool
) -> None:
    findings = shipped.evaluate(
        [image_document("registry.example.com/app:sha-abcdef1", {"config": {"User": user}})]
    )
    assert bool(findings) is blocked
    if blocked:
        assert findings[0].rule_id == "SHIP-001" and findings[0].location is not None
        assert findings[0].location.path == "registry.example.com/app:sha-abcdef1"


def test_a_user_policy_directory_adds_its_own_rules(tmp_path: Path) -> None:
    custom = tmp_path / "policies"
    custom.mkdir()
    (custom / "labels.rego").write_text(
        "package shipline.policies.team_labels\n\nimport rego.v1\n\n"
        'deny contains {"id": "TEAM-001", "severity": "LOW", "msg": "every workload names its owning team", "path": ["metadata"]} if {\n'
        '\tinput.kind == "kubernetes"\n\tnot input.object.metadata.labels.team\n}\n'
    )
    policies = PolicySet([SHIPPED_POLICIES, custom])
    findings = policies.evaluate(
        kubernetes_documents(DATA / "manifests" / "good.yaml", "good.yaml")
    )
    assert found(findings) == {("TEAM-001", 3, Severity.LOW), ("TEAM-001", 45, Severity.LOW)}


def test_a_policy_that_does_not_compile_is_bad_input_naming_its_file(tmp_path: Path) -> None:
    custom = tmp_path / "policies"
    custom.mkdir()
    (custom / "ok.rego").write_text(
        'package shipline.policies.ok\n\nimport rego.v1\n\ndeny contains "x" if false\n'
    )
    (custom / "broken.rego").write_text(
        "package shipline.policies.broken\n\nimport rego.v1\n\ndeny contains msg if {\n"
    )
    with pytest.raises(
        PolicyError, match=r"^policy policies/broken\.rego does not compile: "
    ) as raised:
        PolicySet(
            [SHIPPED_POLICIES, custom],
            {
                custom / "broken.rego": "policies/broken.rego",
                custom / "ok.rego": "policies/ok.rego",
            },
        )
    assert raised.value.exit_code == 2
    assert "ok.rego" not in str(raised.value)


def test_a_directory_without_policies_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"no \*\.rego policy found"):
        PolicySet([tmp_path])
