"""scan-gate: check every input, run the selected scanners, apply one gate, report.

Order matters: inputs, the exceptions register and the policies are all checked before the
first scanner starts, so bad input costs nothing and leaves nothing behind (exit 2). A
scanner that cannot check blocks the gate with its reason (exit 1), like a finding would.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import partial
from pathlib import Path

from shipline.context import ActionContext
from shipline.errors import ShiplineError, ToolFailedError, UsageError
from shipline.findings import Finding, Severity
from shipline.gha.commands import Annotation, AnnotationLevel
from shipline.gha.summary import brief
from shipline.interrupts import in_threads
from shipline.lint.tools import SKIP_DIRS, find_dockerfiles
from shipline.sarif import write_log
from shipline.scan import reports, scanners
from shipline.scan.gate import FailOn, GateResult, by_severity, evaluate, severity_counts
from shipline.scan.policy import (
    SHIPPED_POLICIES,
    Document,
    PolicySet,
    dockerfile_document,
    image_document,
    is_kubernetes_manifest,
    kubernetes_documents,
)
from shipline.scan.register import ExceptionEntry, load_register
from shipline.scan.summary import ScannerRun, build_summary

# Annotations are for findings that sit on a line someone can change.
ANNOTATED_TOOLS = {reports.SEMGREP, reports.TRIVY_SECRET, reports.TRIVY_MISCONFIG, reports.POLICY}
MAX_ANNOTATIONS = 50


class Scanner(StrEnum):
    SAST = "sast"
    SCA = "sca"
    SECRET = "secret"  # noqa: S105 - a scanner name
    MISCONFIG = "misconfig"
    POLICY = "policy"
    IMAGE = "image"


# trivy fs does three of them in one run.
_TRIVY_FS_SCANNERS = {Scanner.SCA: "vuln", Scanner.SECRET: "secret", Scanner.MISCONFIG: "misconfig"}
_TRIVY_FS_TOOLS = {
    Scanner.SCA: reports.TRIVY_SCA,
    Scanner.SECRET: reports.TRIVY_SECRET,
    Scanner.MISCONFIG: reports.TRIVY_MISCONFIG,
}


@dataclass(frozen=True)
class ImageInput:
    reference: str
    archive: Path | None  # an OCI layout directory or docker archive in the workspace


@dataclass
class ScanPlan:
    target: scanners.ScanTarget
    selected: list[Scanner]
    fail_on: FailOn
    register: list[ExceptionEntry]
    register_path: str | None
    rules: list[Path]
    policies: PolicySet | None
    documents: list[Document]
    image: ImageInput | None
    sarif: Path | None
    cache_dir: Path
    repositories: list[str]
    backoff: scanners.Backoff
    offline: bool
    warnings: list[str] = field(default_factory=list)
    today: date = field(default_factory=lambda: datetime.now(UTC).date())


def _shown(path: Path, workspace: Path) -> str:
    return path.relative_to(workspace).as_posix() if path.is_relative_to(workspace) else str(path)


def _selected(context: ActionContext, image: ImageInput | None) -> list[Scanner]:
    names = [name.lower() for name in context.inputs.items("scanners")]
    if names == ["auto"] or not names:
        return [s for s in Scanner if s is not Scanner.IMAGE or image is not None]
    allowed = ", ".join(s.value for s in Scanner)
    chosen: list[Scanner] = []
    for name in names:
        try:
            scanner = Scanner(name)
        except ValueError:
            raise UsageError(
                f"input 'scanners' got '{context.inputs.raw('scanners')}': expected auto or some of {allowed}"
            ) from None
        if scanner not in chosen:
            chosen.append(scanner)
    if Scanner.IMAGE in chosen and image is None:
        raise UsageError(
            "input 'scanners' selects image but input 'image' is empty: name the image to scan"
        )
    return chosen


def _image(context: ActionContext) -> ImageInput | None:
    value = context.inputs.raw("image")
    if not value:
        return None
    workspace = context.inputs.workspace
    candidate = Path(value) if Path(value).is_absolute() else workspace / value
    if candidate.exists():
        # An existing path must be inside the workspace (inputs.path refuses the rest).
        archive = context.inputs.path("image", must_exist=True)
        return ImageInput(_shown(archive, workspace), archive)
    if any(ch.isspace() for ch in value) or value.startswith(("-", "/", ".")):
        raise UsageError(
            f"input 'image' got '{value}': expected a registry reference (registry/name:tag or @sha256:...) "
            "or an existing OCI layout directory or docker archive"
        )
    return ImageInput(value, None)


def _paths(context: ActionContext, name: str, *, kind: str) -> list[Path]:
    workspace = context.inputs.workspace
    found = []
    for item in context.inputs.items(name):
        candidate = (workspace / item).resolve()
        if not candidate.is_relative_to(workspace) or not candidate.exists():
            raise UsageError(f"input '{name}' got '{item}': expected {kind} inside the workspace")
        found.append(candidate)
    return found


def _manifests(context: ActionContext, project: Path) -> tuple[list[Path], bool]:
    """The manifests to check, and whether the user named them (else they were found)."""
    given = _paths(context, "manifests", kind="Kubernetes manifest files or directories")
    files: list[Path] = []
    for root in given or [project]:
        if root.is_file():
            if not is_kubernetes_manifest(root):
                raise UsageError(
                    f"input 'manifests' got '{_shown(root, context.inputs.workspace)}': "
                    "expected a Kubernetes manifest (apiVersion and kind)"
                )
            files.append(root)
            continue
        for file in sorted(root.rglob("*")):
            skipped = SKIP_DIRS.intersection(file.relative_to(root).parts[:-1])
            if not skipped and file.suffix in {".yaml", ".yml"} and is_kubernetes_manifest(file):
                files.append(file)
    return files, bool(given)


_OCI_REPOSITORY = re.compile(r"[A-Za-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+)?")


def _repositories(context: ActionContext) -> list[str]:
    repositories = context.inputs.items("db-repository")
    for repository in repositories:
        if not _OCI_REPOSITORY.fullmatch(repository):
            raise UsageError(
                f"input 'db-repository' got '{repository}': expected OCI repositories such as "
                "mirror.gcr.io/aquasec/trivy-db:2, comma separated, without a scheme"
            )
    return repositories


def _cache_dir(context: ActionContext) -> Path:
    value = context.inputs.raw("trivy-cache-dir")
    if value:
        path = Path(value).expanduser()
        return path if path.is_absolute() else context.inputs.workspace / path
    base = context.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "trivy"


def plan(context: ActionContext) -> ScanPlan:
    inputs = context.inputs
    workspace = inputs.workspace
    project = inputs.path("path", must_exist=True)
    if not project.is_dir():
        raise UsageError(f"input 'path' got '{inputs.raw('path')}': expected a directory")
    timeout = inputs.duration("timeout")
    target = scanners.ScanTarget(project, workspace, timeout, reports.rebaser(workspace, project))
    fail_on = inputs.choice("fail-on", FailOn)
    image = _image(context)
    selected = _selected(context, image)
    register_path = inputs.optional_path("exceptions", must_exist=True)
    register = (
        load_register(register_path, _shown(register_path, workspace)) if register_path else []
    )
    rules = _paths(context, "rules", kind="semgrep rule files or directories")
    policy_dirs = _paths(context, "policies", kind="directories of Rego policies")
    for directory in policy_dirs:
        if not directory.is_dir():
            raise UsageError(
                f"input 'policies' got '{_shown(directory, workspace)}': expected a directory"
            )
    dockerfiles = _paths(context, "dockerfiles", kind="Dockerfiles") or find_dockerfiles(project)
    manifests, named = _manifests(context, project)
    warnings: list[str] = []
    policies = None
    documents: list[Document] = []
    if Scanner.POLICY in selected:
        shown = {f: _shown(f, workspace) for d in policy_dirs for f in d.rglob("*.rego")}
        policies = PolicySet([SHIPPED_POLICIES, *policy_dirs], shown)
        documents = [dockerfile_document(f, _shown(f, workspace)) for f in dockerfiles]
        for manifest in manifests:
            try:
                documents += kubernetes_documents(manifest, _shown(manifest, workspace))
            except ToolFailedError as error:
                if named:
                    raise UsageError(f"input 'manifests': {error}") from None
                # Found, not named: likely a Helm template, which is not YAML until rendered.
                warnings.append(  # the error quotes the file: a tag's name can be a megabyte
                    brief(f"skipped {_shown(manifest, workspace)} for the policies: {error}", 1000)
                )
    return ScanPlan(
        target=target,
        selected=selected,
        fail_on=fail_on,
        register=register,
        register_path=_shown(register_path, workspace) if register_path else None,
        rules=[scanners.SHIPPED_RULES, *rules],
        policies=policies,
        documents=documents,
        image=image,
        sarif=inputs.optional_path("sarif"),
        cache_dir=_cache_dir(context),
        repositories=_repositories(context),
        backoff=scanners.Backoff(
            attempts=inputs.integer("db-download-attempts", minimum=1, maximum=10)
        ),
        offline=inputs.boolean("offline"),
        warnings=warnings,
    )


def prepare_db(scan: ScanPlan, context: ActionContext) -> list[str]:
    """Makes sure a vulnerability DB is there; returns warnings for the summary.

    A stale DB that cannot be refreshed is still used (with a warning): a day-old DB beats
    no scan. No DB at all blocks the vulnerability scans.
    """
    status = scanners.db_status(scan.cache_dir)
    if status.fresh or (scan.offline and status.present):
        return []
    if scan.offline:
        raise ToolFailedError(
            f"offline is true but {scan.cache_dir}/db holds no trivy DB; restore it (actions/cache) or allow the download"
        )
    scan.cache_dir.mkdir(parents=True, exist_ok=True)
    try:
        scanners.download_db(
            scan.cache_dir,
            scan.repositories,
            scan.backoff,
            scan.target.timeout,
            log=context.console.info,
        )
    except ToolFailedError as error:
        if not status.present:
            raise
        return [
            f"the trivy DB could not be refreshed, scanning with the cached one from {status.updated_at}: {error}"
        ]
    return []


def run(context: ActionContext) -> int:
    scan = plan(context)
    console = context.console
    runs: list[ScannerRun] = []
    warnings = list(scan.warnings)

    needs_db = Scanner.SCA in scan.selected or Scanner.IMAGE in scan.selected
    db_error: ShiplineError | None = None
    if needs_db:
        with console.group("trivy vulnerability database"):
            try:
                warnings += prepare_db(scan, context)
            except ShiplineError as error:
                db_error = error

    # The scanners are separate processes that mostly wait on I/O: they run side by side,
    # and their logs are printed one group each once all are done.
    pending: list[tuple[str, list[str], Callable[[], list[Finding]]]] = []
    if Scanner.SAST in scan.selected:
        pending.append(
            ("semgrep", [reports.SEMGREP], lambda: scanners.semgrep(scan.target, scan.rules))
        )
    fs_scanners = [s for s in scan.selected if s in _TRIVY_FS_SCANNERS]
    if db_error is not None and Scanner.SCA in fs_scanners:
        fs_scanners.remove(Scanner.SCA)
        runs.append(ScannerRun("trivy fs (sca)", [reports.TRIVY_SCA], error=db_error))
    if fs_scanners:
        pending.append(
            (
                "trivy fs",
                [_TRIVY_FS_TOOLS[s] for s in fs_scanners],
                lambda: scanners.trivy_fs(
                    scan.target, [_TRIVY_FS_SCANNERS[s] for s in fs_scanners], scan.cache_dir
                ),
            )
        )
    image_configs: list[dict[str, object]] = []
    if scan.image is not None and Scanner.IMAGE in scan.selected:
        image = scan.image
        if db_error is not None:
            runs.append(ScannerRun("trivy image", [reports.TRIVY_IMAGE], error=db_error))
        else:

            def scan_image() -> list[Finding]:
                result = scanners.trivy_image(
                    scan.target,
                    image.reference,
                    image.archive,
                    scan.cache_dir,
                    Scanner.SECRET in scan.selected,
                )
                if result.config is not None:
                    image_configs.append(result.config)
                return result.findings

            pending.append(("trivy image", [reports.TRIVY_IMAGE], scan_image))
    done = in_threads([partial(execute, *job) for job in pending])
    for scanner_run in done:
        _log_run(context, scanner_run)
        runs.append(scanner_run)

    if scan.policies is not None:
        policies = scan.policies

        def evaluate_policies() -> list[Finding]:
            documents = list(scan.documents)
            if image_configs and scan.image is not None:
                documents.append(image_document(scan.image.reference, image_configs[0]))
            return policies.evaluate(documents)

        policy_run = execute("policy", [reports.POLICY], evaluate_policies)
        _log_run(context, policy_run)
        runs.append(policy_run)

    findings = by_severity(f for r in runs for f in r.findings)
    gate = evaluate(findings, scan.fail_on, scan.register, scan.today)
    _annotate(context, scan, gate, runs, warnings)
    failed = [r for r in runs if r.error is not None]
    passed = gate.passed and not failed

    if scan.sarif is not None:
        tools = [tool for r in runs if r.error is None for tool in r.tools]
        accepted = {
            finding: f"{entry.justification} (owner {entry.owner}, until {entry.expires})"
            for finding, entry in gate.suppressed
        }
        write_log(scan.sarif, findings, tools=tools, suppressions=accepted)
        context.files.set_output("sarif", scan.sarif)
    counts = severity_counts(findings)
    outputs: dict[str, object] = {
        "outcome": "pass" if passed else "fail",
        "blocking": len(gate.blocking),
        "suppressed": len(gate.suppressed),
        "findings": len(findings),
        **{severity.name.lower(): counts[severity] for severity in Severity},
        "expired-exceptions": len(gate.expired),
        "stale-exceptions": len(gate.stale),
        "db-cache-key": scanners.db_cache_key(),
    }
    for name, value in outputs.items():
        context.files.set_output(name, value)
    context.write_summary(
        build_summary(
            project=_shown(scan.target.project, scan.target.workspace) or ".",
            fail_on=scan.fail_on,
            runs=runs,
            findings=findings,
            gate=gate,
            passed=passed,
            warnings=warnings,
            register=scan.register_path,
        )
    )
    if passed:
        return 0
    return max((r.error.exit_code for r in failed if r.error), default=1)


def execute(name: str, tools: list[str], check: Callable[[], list[Finding]]) -> ScannerRun:
    """Runs one scanner; whatever stops it becomes the run's error, never an exception."""
    scanner_run = ScannerRun(name, tools)
    started = time.monotonic()
    try:
        scanner_run.findings = check()
    except ShiplineError as error:
        scanner_run.error = error
    scanner_run.seconds = time.monotonic() - started
    return scanner_run


def _log_run(context: ActionContext, scanner_run: ScannerRun) -> None:
    with context.console.group(scanner_run.name):
        if scanner_run.error is not None:
            context.console.info(f"{scanner_run.name}: could not check: {scanner_run.error}")
        else:
            context.console.info(
                f"{scanner_run.name}: {len(scanner_run.findings)} finding(s) in {scanner_run.seconds:.1f} s"
            )


def _annotate(
    context: ActionContext,
    scan: ScanPlan,
    gate: GateResult,
    runs: list[ScannerRun],
    warnings: list[str],
) -> None:
    console = context.console
    blocking = {id(f) for f in gate.blocking}
    shown = 0
    for finding in gate.blocking + gate.below_threshold:
        if (
            finding.tool not in ANNOTATED_TOOLS
            or finding.location is None
            or not finding.location.line
        ):
            continue
        if shown == MAX_ANNOTATIONS:
            console.warning(
                f"more findings than {MAX_ANNOTATIONS} annotations; see the job summary and SARIF"
            )
            break
        annotation = finding.annotation()
        level = AnnotationLevel.ERROR if id(finding) in blocking else AnnotationLevel.WARNING
        severity = finding.severity.name if finding.severity is not None else "UNKNOWN"
        console.annotate(
            Annotation(
                level=level,
                message=annotation.message,
                file=annotation.file,
                line=annotation.line,
                end_line=annotation.end_line,
                col=annotation.col,
                end_column=annotation.end_column,
                title=f"{annotation.title} ({severity})",
            )
        )
        shown += 1
    for entry in gate.expired:
        _register_note(
            console.annotate,
            scan,
            entry,
            AnnotationLevel.ERROR,
            f"exception {entry.describe()} (owner {entry.owner}) expired on {entry.expires}",
        )
    for entry in gate.unjustified:
        _register_note(
            console.annotate,
            scan,
            entry,
            AnnotationLevel.ERROR,
            f"exception {entry.describe()} (owner {entry.owner}) has no justification",
        )
    for entry in gate.stale:
        _register_note(
            console.annotate,
            scan,
            entry,
            AnnotationLevel.WARNING,
            f"exception {entry.describe()} matched no finding; remove it",
        )
    for run in runs:
        if run.error is not None:
            console.error(f"{run.name} could not check: {run.error}", title="scan-gate")
    for warning in warnings:
        console.warning(warning, title="scan-gate")


def _register_note(
    annotate: Callable[[Annotation], None],
    scan: ScanPlan,
    entry: ExceptionEntry,
    level: AnnotationLevel,
    message: str,
) -> None:
    annotate(
        Annotation(
            level=level,
            message=message,
            file=scan.register_path,
            line=entry.line,
            title="exceptions register",
        )
    )
