"""scan-gate end to end with the real semgrep, trivy and regopy, through the CLI as a runner calls it.

trivy runs offline against a tiny vulnerability DB the tests build (tests/support/trivydb.py);
the image is an OCI layout written by hand (tests/support/ociimage.py). semgrep is slow to
start, so the full scan runs once per session and several tests read its results.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from tests.paths import ROOT, SARIF_SCHEMA, load_npm_json
from tests.support.action_runner import ActionRun, run_action
from tests.support.markdown import github_html, shown_text
from tests.support.ociimage import push_oci_layout, write_docker_archive, write_oci_layout
from tests.support.registry import LocalRegistry
from tests.support.trivydb import cached_trivy_db

DATA = ROOT / "tests" / "data" / "scan"
EXAMPLE = ROOT / "examples" / "fastapi-service"
CACHE = ROOT / ".cache" / "scan"
IMAGE_PACKAGES = {"PyYAML": "5.3.1", "requests": "2.19.0", "fastapi": "0.110.0"}

USER_RULE = """\
rules:
  - id: no-print-in-service
    languages: [python]
    severity: LOW
    message: print() in a service bypasses structured logging.
    pattern: print(...)
"""


def run_scan(workspace: Path, **inputs: str) -> ActionRun:
    return run_action("scan-gate", workspace, inputs, timeout=600)


def annotations(run: ActionRun) -> set[tuple[str, str, str, str]]:
    return {
        (name, props.get("file", ""), props.get("line", ""), props.get("title", ""))
        for name, props, _ in run.annotations
    }


def messages(run: ActionRun, level: str) -> list[str]:
    return [message for name, _, message in run.commands if name == level]


@pytest.fixture(scope="session")
def trivy_cache() -> Path:
    return cached_trivy_db(CACHE)


@pytest.fixture(scope="session")
def vulnerable_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The vulnerable sample as ``service/`` with manifests, a root image and a user rule dir."""
    workspace = tmp_path_factory.mktemp("scan") / "ws"
    shutil.copytree(DATA / "vulnerable-app", workspace / "service")
    shutil.copytree(DATA / "manifests", workspace / "service" / "deploy")
    write_oci_layout(workspace / "build" / "image", IMAGE_PACKAGES)
    (workspace / "rules").mkdir()
    (workspace / "rules" / "house.yaml").write_text(USER_RULE)
    (workspace / "service" / "app" / "cli.py").write_text('print("hello")\n')
    return workspace


@pytest.fixture(scope="session")
def full_scan(vulnerable_workspace: Path, trivy_cache: Path) -> ActionRun:
    return run_scan(
        vulnerable_workspace,
        path="service",
        image="build/image",
        rules="rules",
        sarif="reports/scan.sarif",
        trivy_cache_dir=str(trivy_cache),
        offline="true",
    )


def test_every_scanner_finds_what_the_sample_hides_and_the_gate_blocks(
    full_scan: ActionRun,
) -> None:
    assert full_scan.code == 1, full_scan.log
    found = annotations(full_scan)
    main = "service/app/main.py"
    for line, rule, severity in [
        ("20", "subprocess-shell-true", "HIGH"),
        ("25", "os-command-injection", "HIGH"),
        ("30", "unsafe-deserialisation-pickle", "CRITICAL"),
        ("35", "yaml-unsafe-load", "HIGH"),
        ("41", "sql-string-formatting", "HIGH"),
        ("47", "sql-string-formatting", "HIGH"),
        ("57", "tls-verification-disabled", "HIGH"),
        ("62", "code-injection-eval", "HIGH"),
        ("15", "hard-coded-secret", "HIGH"),
    ]:
        assert ("error", main, line, f"semgrep {rule} ({severity})") in found, rule
    loaders = {
        line
        for _, file, line, title in found
        if file == "service/app/loaders.py" and "yaml-unsafe-load" in title
    }
    assert loaders == {"11", "15", "19"}  # not the SafeLoader nor the project's SafeLoader subclass
    settings = "service/app/settings.py"
    assert ("error", settings, "3", "semgrep hard-coded-secret (HIGH)") in found
    assert not any(
        file == settings and line in {"4", "5"} for _, file, line, _ in found
    )  # names, not secrets
    assert ("warning", main, "52", "semgrep weak-hash (MEDIUM)") in found
    assert ("warning", main, "13", "semgrep debug-mode-enabled (MEDIUM)") in found
    assert (
        "warning",
        "service/app/cli.py",
        "1",
        "semgrep no-print-in-service (LOW)",
    ) in found  # the user's rule
    assert not any(
        line in {"66", "70", "74"} for _, file, line, _ in found if file == main
    )  # the safe twins
    assert ("error", main, "15", "trivy-secret github-pat (CRITICAL)") in found
    assert ("error", "service/deploy/bad.yaml", "20", "policy SHIP-005 (CRITICAL)") in found
    assert ("error", "service/Dockerfile", "1", "policy SHIP-001 (HIGH)") in found
    assert any(
        title == "trivy-misconfig KSV-0017 (HIGH)" and file == "service/deploy/bad.yaml"
        for _, file, _, title in found
    )
    # Dependency findings have no source line to annotate.
    assert not any(title.startswith(("trivy-sca", "trivy-image")) for *_, title in found)


def test_outputs_count_by_severity_and_the_summary_lists_what_blocks(full_scan: ActionRun) -> None:
    outputs = full_scan.outputs
    assert outputs["outcome"] == "fail"
    counts = {name: int(outputs[name]) for name in ("critical", "high", "medium", "low", "unknown")}
    assert sum(counts.values()) == int(outputs["findings"])
    assert int(outputs["blocking"]) == counts["critical"] + counts["high"] + counts["unknown"]
    assert outputs["suppressed"] == "0" and outputs["stale-exceptions"] == "0"
    assert outputs["db-cache-key"].startswith("trivy-db-20")
    summary = full_scan.summary
    assert "## Scan gate `service`: ❌ blocked" in summary
    assert "| Tool | Critical | High | Medium | Low | Unknown | Status |" in summary
    assert "| trivy-sca | 1 | 1 | 1 | 0 | 0 | ran in " in summary
    assert "| trivy-image | 1 | 1 | 1 | 0 | 0 | ran in " in summary
    assert (
        "| CRITICAL | trivy-sca | CVE-2020-14343 | pyyaml 5.3.1 (service/requirements.txt) | 5.4 |"
        in summary
    )
    assert (
        "| HIGH | trivy-sca | CVE-2018-18074 | requests 2.19.0 (service/requirements.txt) | 2.20.0 |"
        in summary
    )
    assert (
        "| CRITICAL | trivy-image | CVE-2020-14343 | PyYAML 5.3.1 (usr/local/lib/python3.12/site-packages/PyYAML-5.3.1.dist-info/METADATA) | 5.4 |"
        in summary
    )
    assert (
        "| CRITICAL | semgrep | unsafe-deserialisation-pickle | service/app/main.py:30:12 |"
        in summary
    )
    # The image runs as root: its configuration, as trivy read it, went through the policies.
    assert (
        "| HIGH | policy | SHIP-001 | build/image |  | image build/image runs as root (config User is unset) |"
        in summary
    )
    assert "<summary>Below the threshold" in summary
    assert "ghp_" not in summary + full_scan.log


def test_the_merged_sarif_is_valid_and_has_one_run_per_scanner(
    full_scan: ActionRun, vulnerable_workspace: Path
) -> None:
    assert full_scan.outputs["sarif"] == str(vulnerable_workspace / "reports" / "scan.sarif")
    sarif = json.loads((vulnerable_workspace / "reports" / "scan.sarif").read_text())
    jsonschema.validate(sarif, load_npm_json(SARIF_SCHEMA))
    runs = {run["tool"]["driver"]["name"]: run for run in sarif["runs"]}
    assert set(runs) == {
        "semgrep",
        "trivy-sca",
        "trivy-secret",
        "trivy-misconfig",
        "trivy-image",
        "policy",
    }
    assert len({run["automationDetails"]["id"] for run in sarif["runs"]}) == len(sarif["runs"])
    assert sum(len(run["results"]) for run in sarif["runs"]) == int(full_scan.outputs["findings"])
    sca = runs["trivy-sca"]
    pyyaml = next(r for r in sca["results"] if r["ruleId"] == "CVE-2020-14343")
    assert pyyaml["properties"] == {
        "package": "pyyaml",
        "installedVersion": "5.3.1",
        "fixedVersion": "5.4",
    }
    rule = sca["tool"]["driver"]["rules"][pyyaml["ruleIndex"]]
    assert rule["properties"]["security-severity"] == "9.5"


REGISTER = """\
version: 1
exceptions:
  - id: CVE-2020-14343
    package: pyyaml
    justification: we only load our own, signed configuration with it
    owner: team-payments
    expires: 2999-12-31
  - id: SHIP-004
    path: service/deploy/bad.yaml
    justification: the worker is a batch job the cluster's LimitRange bounds
    owner: platform
    expires: 2999-12-31
  - id: CVE-2018-18074
    justification: accepted last year
    owner: alice
    expires: 2020-01-31
  - id: CVE-2099-0001
    justification: an advisory that no longer applies
    owner: bob
    expires: 2999-12-31
  - id: CVE-2023-32681
    package: requests
    owner: carol
    expires: 2999-12-31
"""


def test_exceptions_suppress_in_scope_and_expired_or_stale_entries_are_reported(
    vulnerable_workspace: Path, trivy_cache: Path
) -> None:
    (vulnerable_workspace / "exceptions.yml").write_text(REGISTER)
    run = run_scan(
        vulnerable_workspace,
        path="service",
        scanners="sca,policy",
        exceptions="exceptions.yml",
        sarif="reports/excepted.sarif",
        trivy_cache_dir=str(trivy_cache),
        offline="true",
    )
    assert run.code == 1, run.log
    assert run.outputs["suppressed"] == "4"  # pyyaml + three SHIP-004 in bad.yaml
    assert run.outputs["expired-exceptions"] == "1" and run.outputs["stale-exceptions"] == "1"
    found = annotations(run)
    assert ("error", "exceptions.yml", "13", "exceptions register") in found
    assert ("warning", "exceptions.yml", "17", "exceptions register") in found
    assert any("CVE-2018-18074 (owner alice) expired on 2020-01-31" in m for m in run.errors())
    summary = run.summary
    assert "| CVE-2018-18074 | alice | 2020-01-31 | expired (exceptions.yml:13) |" in summary
    assert (
        "| CRITICAL | trivy-sca | CVE-2020-14343 | pyyaml 5.3.1 (service/requirements.txt) | team-payments | 2999-12-31 | we only load our own, signed configuration with it |"
        in summary
    )
    assert "| CVE-2099-0001 | bob | 2999-12-31 | exceptions.yml:17 |" in summary
    # Without a justification the entry suppresses nothing and fails the gate.
    assert (
        "| CVE-2023-32681 (package requests) | carol | 2999-12-31 | no justification (exceptions.yml:21) |"
        in summary
    )
    assert any(
        "CVE-2023-32681 (package requests) (owner carol) has no justification" in m
        for m in run.errors()
    )
    sarif = json.loads((vulnerable_workspace / "reports" / "excepted.sarif").read_text())
    jsonschema.validate(sarif, load_npm_json(SARIF_SCHEMA))
    accepted = [r for run in sarif["runs"] for r in run["results"] if r.get("suppressions")]
    assert len(accepted) == 4
    pyyaml = next(r for r in accepted if r["ruleId"] == "CVE-2020-14343")
    assert pyyaml["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "we only load our own, signed configuration with it (owner team-payments, until 2999-12-31)",
        }
    ]
    # The expired entry suppresses nothing: its finding still blocks.
    assert (
        "| HIGH | trivy-sca | CVE-2018-18074 | requests 2.19.0 (service/requirements.txt) | 2.20.0 |"
        in summary
    )


def test_the_threshold_is_configurable_and_valid_exceptions_let_the_gate_pass(
    vulnerable_workspace: Path, trivy_cache: Path
) -> None:
    (vulnerable_workspace / "pass.yml").write_text(REGISTER.split("  - id: SHIP-004")[0])
    run = run_scan(
        vulnerable_workspace,
        path="service",
        scanners="sca",
        fail_on="CRITICAL",
        exceptions="pass.yml",
        trivy_cache_dir=str(trivy_cache),
        offline="true",
    )
    assert run.code == 0, run.log
    assert (
        run.outputs["outcome"] == "pass"
        and run.outputs["blocking"] == "0"
        and run.outputs["high"] == "1"
    )
    assert "## Scan gate `service`: ✅ passed" in run.summary


@pytest.mark.slow
def test_the_example_service_passes_the_default_gate(tmp_path: Path, trivy_cache: Path) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(
        EXAMPLE, workspace, ignore=shutil.ignore_patterns(".venv", "__pycache__", ".pytest_cache")
    )
    run = run_scan(workspace, trivy_cache_dir=str(trivy_cache), offline="true")
    assert run.code == 0, run.log
    assert run.outputs["critical"] == "0" and run.outputs["high"] == "0"
    assert (
        "SHIP-003" in run.summary
    )  # its base image is tagged, not pinned by digest: below the gate


def test_without_a_db_offline_vulnerability_scans_block_with_the_reason(
    vulnerable_workspace: Path, tmp_path: Path
) -> None:
    run = run_scan(
        vulnerable_workspace,
        path="service",
        scanners="sca",
        trivy_cache_dir=str(tmp_path / "empty"),
        offline="true",
    )
    assert run.code == 1
    assert run.outputs["outcome"] == "fail"
    assert any("offline is true but" in m and "holds no trivy DB" in m for m in run.errors())
    assert "⚠️ not checked: offline is true but" in run.summary


def test_a_failed_download_is_retried_then_blocks_and_a_stale_db_is_used_with_a_warning(
    vulnerable_workspace: Path, trivy_cache: Path, tmp_path: Path
) -> None:
    # A mirror on a closed loopback port: every attempt fails fast, nothing leaves the machine.
    mirror = "127.0.0.1:9/aquasec/trivy-db:2"
    run = run_scan(
        vulnerable_workspace,
        path="service",
        scanners="sca",
        trivy_cache_dir=str(tmp_path / "fresh"),
        db_repository=mirror,
        db_download_attempts="2",
    )
    assert run.code == 1
    assert "trivy DB download attempt 1/2 failed" in run.log
    assert any("could not download the trivy vulnerability database" in m for m in run.errors())

    stale = tmp_path / "stale"
    shutil.copytree(trivy_cache / "db", stale / "db")
    metadata = json.loads((stale / "db" / "metadata.json").read_text())
    old = {
        "NextUpdate": "2020-01-01T00:00:00Z",
        "DownloadedAt": "2019-12-31T00:00:00Z",
        "UpdatedAt": "2019-12-31T00:00:00Z",
    }
    (stale / "db" / "metadata.json").write_text(
        json.dumps({**metadata, **old})
    )  # trivy skips DBs fetched in the last hour
    run = run_scan(
        vulnerable_workspace,
        path="service",
        scanners="sca",
        fail_on="never",
        trivy_cache_dir=str(stale),
        db_repository=mirror,
        db_download_attempts="1",
    )
    assert run.code == 0, run.log
    assert run.outputs["findings"] == "3"
    assert any(
        "could not be refreshed, scanning with the cached one" in m
        for m in messages(run, "warning")
    )


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            {"fail_on": "severe"},
            "input 'fail-on' got 'severe': expected one of critical, high, medium, low, never",
        ),
        (
            {"scanners": "sast,dast"},
            "input 'scanners' got 'sast,dast': expected auto or some of sast, sca, secret, misconfig, policy, image",
        ),
        ({"scanners": "image"}, "input 'scanners' selects image but input 'image' is empty"),
        ({"image": "-rf /"}, "input 'image' got '-rf /': expected a registry reference"),
        (
            {"exceptions": "broken.yml"},
            "broken.yml:4: exceptions/0/expires: 'someday' is not a 'date'",
        ),
        ({"policies": "bad-policies"}, "policy bad-policies/broken.rego does not compile: "),
        (
            {"rules": "missing"},
            "input 'rules' got 'missing': expected semgrep rule files or directories inside the workspace",
        ),
        (
            {"db_repository": "https://ghcr.io/aquasecurity/trivy-db:2"},
            "input 'db-repository' got 'https://ghcr.io/aquasecurity/trivy-db:2': expected OCI repositories",
        ),
        (
            {"db_download_attempts": "0"},
            "input 'db-download-attempts' got '0': expected a whole number from 1 to 10",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_problem_before_any_scanner_runs(
    tmp_path: Path, inputs: dict[str, str], message: str
) -> None:
    workspace = tmp_path / "ws"
    (workspace / "bad-policies").mkdir(parents=True)
    (workspace / "bad-policies" / "broken.rego").write_text(
        "package shipline.policies.broken\n\ndeny contains msg if {\n"
    )
    (workspace / "broken.yml").write_text(
        "exceptions:\n  - id: CVE-1\n    owner: bob\n    expires: someday\n    justification: x\n"
    )
    run = run_scan(workspace, sarif="out.sarif", **inputs)
    assert run.code == 2, run.log
    assert any(message in m for m in run.errors()), run.log
    assert "== semgrep" not in run.log and "== trivy" not in run.log
    assert not (workspace / "out.sarif").exists() and run.outputs == {}


def test_an_image_by_registry_reference_is_scanned_and_its_config_checked(
    registry: LocalRegistry, trivy_cache: Path, tmp_path: Path
) -> None:
    layout = write_oci_layout(tmp_path / "layout", IMAGE_PACKAGES, user="10001:10001")
    push_oci_layout(layout, registry.url, "shop/service", "sha-3f9c2ab")
    workspace = tmp_path / "ws"
    (workspace / "service").mkdir(parents=True)
    reference = f"{registry.host}/shop/service:sha-3f9c2ab"
    run = run_scan(
        workspace,
        path="service",
        image=reference,
        scanners="image,policy",
        trivy_cache_dir=str(trivy_cache),
        offline="true",
    )
    assert run.code == 1, run.log
    assert (
        run.outputs["critical"] == "1"
        and run.outputs["high"] == "1"
        and run.outputs["medium"] == "1"
    )
    assert (
        "| CRITICAL | trivy-image | CVE-2020-14343 | PyYAML 5.3.1 (usr/local/lib/python3.12/site-packages/PyYAML-5.3.1.dist-info/METADATA) | 5.4 |"
        in run.summary
    )
    assert "SHIP-001" not in run.summary  # the configuration names a non-root user
    assert "| policy | 0 | 0 | 0 | 0 | 0 | ran in " in run.summary


HELM_TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  template:
    spec:
      containers:
        - name: app
          image: {{ .Values.image | quote }}
          {{- toYaml .Values.resources | nindent 10 }}
"""


def test_virtualenvs_are_not_scanned_and_unrendered_templates_are_skipped_with_a_warning(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    token = "ghp_" + "Zx8Kq2Lm4Np6Rt8Vw0Yb2Cd4Ef6Gh8Jk0Lm2N"
    (workspace / "service" / ".venv" / "lib").mkdir(parents=True)
    (workspace / "service" / ".venv" / "lib" / "vendored.py").write_text(f'TOKEN = "{token}"\n')
    (workspace / "service" / "chart" / "templates").mkdir(parents=True)
    (workspace / "service" / "chart" / "templates" / "deployment.yaml").write_text(HELM_TEMPLATE)
    run = run_scan(workspace, path="service", scanners="secret,policy")
    assert run.code == 0, run.log
    assert run.outputs["findings"] == "0"
    assert any(
        "skipped service/chart/templates/deployment.yaml for the policies" in m
        for m in messages(run, "warning")
    )
    (workspace / "service" / "app.py").write_text(f'TOKEN = "{token}"\n')
    run = run_scan(workspace, path="service", scanners="secret")
    assert run.code == 1 and run.outputs["findings"] == "1", run.log
    assert ("error", "service/app.py", "1", "trivy-secret github-pat (CRITICAL)") in annotations(
        run
    )
    named = "service/chart/templates/deployment.yaml"
    run = run_scan(workspace, path="service", scanners="policy", manifests=named)
    assert run.code == 2, run.log
    assert any(
        m.startswith(f"input 'manifests': {named} is not readable YAML") for m in run.errors()
    )


def test_a_skipped_manifest_s_name_and_text_show_as_written_in_the_summary(tmp_path: Path) -> None:
    # both are the pull request's: a link, bold and an image there would read as shipline's
    deploy = tmp_path / "ws" / "service" / "deploy"
    deploy.mkdir(parents=True)
    hostile = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n x: <img src=//e.test/a.png> [**ok**](//e.test)\n"
    (deploy / "[app](https:e.test) <b>.yaml").write_text(hostile)
    run = run_scan(tmp_path / "ws", path="service", scanners="policy")
    assert run.code == 0, run.log
    (warning,) = messages(run, "warning")
    assert warning.startswith(
        "skipped service/deploy/[app](https:e.test) <b>.yaml for the policies"
    )
    assert "x: <img src=//e.test/a.png> [**o" in warning  # PyYAML quotes the line
    (bullet,) = [line for line in run.summary.splitlines() if "skipped" in line]
    rendered = github_html(bullet)
    assert rendered.startswith("<ul>\n<li>") and rendered.endswith("</li>\n</ul>\n"), rendered
    assert shown_text(rendered[9:-12]) == "⚠️ " + " ".join(warning.splitlines())


def test_a_docker_save_archive_is_scanned_like_the_layout(
    tmp_path: Path, trivy_cache: Path
) -> None:
    workspace = tmp_path / "ws"
    (workspace / "service").mkdir(parents=True)
    layout = write_oci_layout(tmp_path / "layout", {"requests": "2.19.0"}, user="0")
    write_docker_archive(layout, workspace / "build" / "image.tar", "shop/service:sha-3f9c2ab")
    run = run_scan(
        workspace,
        path="service",
        image="build/image.tar",
        scanners="image,policy",
        fail_on="critical",
        trivy_cache_dir=str(trivy_cache),
        offline="true",
    )
    assert run.code == 0, run.log  # HIGH and MEDIUM only, below fail-on critical
    assert (run.outputs["high"], run.outputs["medium"]) == ("2", "1")
    assert (
        "| HIGH | policy | SHIP-001 | build/image.tar |  | image build/image.tar runs as root (config User is 0) |"
        in run.summary
    )


def test_a_user_rule_semgrep_rejects_blocks_with_semgreps_reason(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    (workspace / "service").mkdir(parents=True)
    (workspace / "service" / "app.py").write_text("print('hi')\n")
    (workspace / "rules").mkdir()
    (workspace / "rules" / "broken.yaml").write_text(
        "rules:\n  - id: broken\n    languages: [python]\n    severity: HIGH\n    message: x\n    pattern: 'foo('\n"
    )
    run = run_scan(workspace, path="service", scanners="sast", rules="rules", sarif="out.sarif")
    assert run.code == 1, run.log
    assert run.outputs["outcome"] == "fail"
    assert any(
        m.startswith("semgrep could not check: semgrep reported an error: Rule parse error")
        and "broken" in m
        for m in run.errors()
    ), run.log
    assert "| semgrep | 0 | 0 | 0 | 0 | 0 | ⚠️ not checked: semgrep " in run.summary
    # A scanner that could not check contributes no run to the SARIF rather than an empty, "clean" one.
    assert json.loads((workspace / "out.sarif").read_text())["runs"] == []
