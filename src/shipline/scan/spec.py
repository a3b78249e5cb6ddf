"""Inputs and outputs of the ``scan-gate`` action (kept equal to its action.yml by a test)."""

from shipline.gha.inputs import ActionSpec, InputSpec, OutputSpec

SPEC = ActionSpec(
    name="scan-gate",
    description="Security gates after the tests: Semgrep SAST, Trivy SCA, image, secret and "
    "misconfiguration scans, Rego policies; one severity threshold, one exceptions register, "
    "one merged SARIF.",
    inputs=(
        InputSpec("path", "Project directory to scan, inside the workspace.", default="."),
        InputSpec(
            "scanners",
            "Scanners to run, comma separated: sast, sca, secret, misconfig, policy, image; "
            "`auto` runs all of them (image only when `image` is set).",
            default="auto",
        ),
        InputSpec(
            "image",
            "Image to scan: a registry reference, or an OCI layout directory or docker-save "
            "archive inside the workspace.",
        ),
        InputSpec(
            "fail-on",
            "Lowest severity that blocks: critical, high, medium, low or never. Findings of "
            "unknown severity block unless never.",
            default="high",
        ),
        InputSpec(
            "exceptions",
            "Exceptions register (YAML; schema and example in src/shipline/scan/): accepted "
            "risks with id, optional package/path/tool scope, justification, owner, expires. "
            "Refused over 2,000,000 characters, 100,000 YAML nodes, 2,000,000 characters of "
            "values or 32 levels of nesting (an alias counted as a copy of what it names).",
        ),
        InputSpec("rules", "Extra semgrep rule files or directories, comma or newline separated."),
        InputSpec(
            "policies",
            "Extra Rego policy directories (packages under shipline.policies with a deny set).",
        ),
        InputSpec(
            "manifests",
            "Kubernetes manifests (files or directories) for the policies "
            "(default: YAML or JSON files with apiVersion and kind under path), read as "
            "Kubernetes reads them; a List's items are checked one by one. One that is not "
            "YAML, holds what JSON cannot (.nan), nests over 200 levels or whose aliases copy "
            "over 100,000 nodes or 10,000,000 characters in all is bad input if named here, "
            "and skipped with a warning if found (a Helm template is YAML only once rendered).",
        ),
        InputSpec(
            "dockerfiles",
            "Dockerfiles for the policies, comma or newline separated (default: found under path).",
        ),
        InputSpec("sarif", "Write the merged SARIF 2.1.0 report (one run per scanner) here."),
        InputSpec(
            "trivy-cache-dir",
            "trivy cache directory holding the vulnerability DB (default: ~/.cache/trivy). Restore "
            "it before the step with actions/cache/restore (restore-keys: trivy-db-) and save it "
            "after with actions/cache/save under the `db-cache-key` output: one download a day.",
        ),
        InputSpec(
            "db-repository",
            "OCI repositories of the trivy DB, comma separated, tried in order (a mirror "
            "avoids rate limits; default: trivy's own).",
        ),
        InputSpec(
            "db-download-attempts",
            "Attempts to download the trivy DB, with jittered exponential backoff.",
            default="4",
        ),
        InputSpec(
            "offline",
            "Never download the trivy DB: use the cached one (vulnerability scans block without it).",
            default="false",
        ),
        InputSpec("timeout", "Time allowed for each scanner, e.g. 300s or 10m.", default="10m"),
    ),
    outputs=(
        OutputSpec("outcome", "pass or fail."),
        OutputSpec(
            "blocking", "Number of findings that block (at or above fail-on, not excepted)."
        ),
        OutputSpec("suppressed", "Number of findings covered by a valid exception."),
        OutputSpec("findings", "Total number of findings."),
        OutputSpec("critical", "Number of CRITICAL findings."),
        OutputSpec("high", "Number of HIGH findings."),
        OutputSpec("medium", "Number of MEDIUM findings."),
        OutputSpec("low", "Number of LOW findings."),
        OutputSpec("unknown", "Number of findings of unknown severity."),
        OutputSpec("expired-exceptions", "Number of expired exceptions (they fail the gate)."),
        OutputSpec("stale-exceptions", "Number of exceptions that matched no finding."),
        OutputSpec("sarif", "Path of the merged SARIF report, when one was written."),
        OutputSpec(
            "db-cache-key",
            "Key to save the trivy DB under with actions/cache/save: trivy-db-YYYY-MM-DD (UTC).",
        ),
    ),
    extra="scan",
    icon="shield",
)
