"""Signs an image digest (signature, provenance, SBOM) or verifies its bundles for a gate."""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from shipline.context import ActionContext
from shipline.errors import ShiplineError, UsageError
from shipline.gha.inputs import InputError, Inputs
from shipline.gha.summary import Summary, code_span, inline
from shipline.oci.auth import Credentials
from shipline.oci.client import Descriptor, RegistryClient, RegistryError
from shipline.oci.reference import ImageReference, ReferenceError, parse_reference
from shipline.oci.referrers import AttachedReferrer, attach
from shipline.sign import statements
from shipline.sign.identity import ExpectedIdentity
from shipline.sign.signing import identity_token, sign_statements
from shipline.sign.token import GRANT_HINT, ambient_token
from shipline.sign.trust import TrustChoice, load_trust
from shipline.sign.verifying import BundleResult, BundleSource, verify_bundles
from shipline.sigstore_local import UNTRUSTED_LABEL

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
SHA256_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
BUNDLE_SUFFIX = ".sigstore.json"


class Mode(StrEnum):
    SIGN = "sign"
    VERIFY = "verify"


@dataclass(frozen=True)
class Target:
    image: ImageReference  # without tag or digest
    digest: str

    @property
    def pinned(self) -> str:
        return f"{self.image.name}@{self.digest}"


@dataclass(frozen=True)
class SignPlan:
    target: Target
    trust_path: Path | None
    explicit_token: str
    github: statements.GitHubContext | None
    sbom: dict[str, Any] | None
    dependencies: list[statements.ResourceDescriptor]
    byproducts: list[statements.ResourceDescriptor]
    builder_id: str
    attach: bool
    output_dir: Path
    credentials: Credentials | None
    timeout: float


@dataclass(frozen=True)
class VerifyPlan:
    target: Target
    trust_path: Path | None
    identity: ExpectedIdentity
    predicate_types: list[str]
    bundle_files: list[Path] = field(default_factory=list)
    credentials: Credentials | None = None
    timeout: float = 30.0


def parse_target(inputs: Inputs) -> Target:
    raw_image, raw_digest = inputs.raw("image"), inputs.raw("digest")
    try:
        reference = parse_reference(raw_image)
    except ReferenceError as error:
        raise InputError("image", raw_image, f"an image reference ({error})") from None
    if raw_digest and not SHA256_DIGEST.match(raw_digest):
        raise InputError("digest", raw_digest, "a digest sha256:<64 lower-case hex>")
    if reference.digest and not SHA256_DIGEST.match(reference.digest):
        raise InputError("image", raw_image, "a digest sha256:<64 lower-case hex> after '@'")
    if reference.digest and raw_digest and reference.digest != raw_digest:
        raise UsageError(
            f"input 'image' got '{raw_image}' but input 'digest' got '{raw_digest}': "
            "they name different digests"
        )
    digest = reference.digest or raw_digest
    if not digest:
        raise InputError(
            "image",
            raw_image,
            "a reference with a digest (name@sha256:<64 hex>) or the digest input: "
            "a tag can move, so only a digest is signed or verified",
        )
    return Target(ImageReference(reference.registry, reference.repository), digest)


def _credentials(inputs: Inputs) -> Credentials | None:
    username, password = inputs.raw("registry-username"), inputs.raw("registry-password")
    if bool(username) != bool(password):
        raise UsageError(
            "inputs 'registry-username' and 'registry-password' go together: give both or neither"
        )
    return Credentials(username, password) if username else None


def _trust_path(inputs: Inputs) -> Path | None:
    """A trust config may live outside the workspace (e.g. in RUNNER_TEMP): any readable file."""
    raw = inputs.raw("trust-config")
    if not raw:
        return None
    path = (inputs.workspace / raw).resolve()
    if not path.is_file():
        raise InputError("trust-config", raw, "an existing Sigstore ClientTrustConfig JSON file")
    return path


def _existing_files(inputs: Inputs, name: str) -> list[Path]:
    files = []
    for item in inputs.items(name):
        path = (inputs.workspace / item).resolve()
        if not path.is_relative_to(inputs.workspace) or not path.is_file():
            raise InputError(name, item, "existing files inside the workspace")
        files.append(path)
    return files


def _read_sbom(inputs: Inputs) -> dict[str, Any] | None:
    path = inputs.optional_path("sbom", must_exist=True)
    if path is None:
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError("sbom", inputs.raw("sbom"), f"a CycloneDX JSON file ({error})") from None
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        raise InputError("sbom", inputs.raw("sbom"), "a CycloneDX JSON SBOM (bomFormat CycloneDX)")
    return document


def plan_sign(context: ActionContext) -> SignPlan:
    inputs = context.inputs
    target = parse_target(inputs)
    trust_path = _trust_path(inputs)
    explicit_token = inputs.raw("identity-token")
    if explicit_token:
        context.console.mask(explicit_token)
    elif not (
        context.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
        and context.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    ):
        raise UsageError(
            "keyless signing needs an OIDC identity token and this job has none "
            f"(ACTIONS_ID_TOKEN_REQUEST_URL/ACTIONS_ID_TOKEN_REQUEST_TOKEN are unset): {GRANT_HINT}"
        )
    provenance = inputs.boolean("provenance")
    github = statements.GitHubContext.from_environ(context.environ) if provenance else None
    byproducts = [
        statements.file_descriptor(path, inputs.workspace, kind)
        for name, kind in (("test-results", "test-results"), ("scan-results", "scan-results"))
        for path in _existing_files(inputs, name)
    ]
    dependencies = []
    for item in inputs.items("resolved-dependencies"):
        dependency = statements.parse_dependency(item)
        if dependency is None:
            raise InputError("resolved-dependencies", item, "<uri>@sha256:<64 hex>")
        dependencies.append(dependency)
    if (byproducts or dependencies) and not provenance:
        raise UsageError(
            "inputs 'test-results', 'scan-results' and 'resolved-dependencies' go into the "
            "provenance: set provenance: true"
        )
    return SignPlan(
        target=target,
        trust_path=trust_path,
        explicit_token=explicit_token,
        github=github,
        sbom=_read_sbom(inputs),
        dependencies=dependencies,
        byproducts=byproducts,
        builder_id=inputs.raw("builder-id"),
        attach=inputs.boolean("attach"),
        output_dir=inputs.path("output-dir"),
        credentials=_credentials(inputs),
        timeout=inputs.duration("timeout"),
    )


def plan_verify(context: ActionContext) -> VerifyPlan:
    inputs = context.inputs
    target = parse_target(inputs)
    repository = inputs.raw("repository")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository):
        raise InputError(
            "repository", repository, "the repository that must have signed, as owner/name"
        )
    predicate_types = inputs.items("predicate-types")
    if not predicate_types:
        raise InputError("predicate-types", "", "at least one predicate type")
    return VerifyPlan(
        target=target,
        trust_path=_trust_path(inputs),
        identity=ExpectedIdentity(
            repository=repository,
            workflow=inputs.raw("workflow"),
            ref=inputs.raw("ref"),
            issuer=inputs.raw("issuer"),
        ),
        predicate_types=predicate_types,
        bundle_files=_existing_files(inputs, "bundles"),
        credentials=_credentials(inputs),
        timeout=inputs.duration("timeout"),
    )


def registry_client(
    target: Target, credentials: Credentials | None, context: ActionContext, timeout: float
) -> RegistryClient:
    if credentials is not None:
        context.console.mask(credentials.password)
    return RegistryClient.for_registry(
        target.image.registry, credentials=credentials, environ=context.environ, timeout=timeout
    )


def subject_descriptor(client: RegistryClient, target: Target) -> Descriptor:
    manifest = client.get_manifest(target.image.repository, target.digest)
    if manifest is None:
        raise ShiplineError(f"{target.pinned} is not in the registry: push the image first")
    return Descriptor(manifest.media_type, manifest.digest, len(manifest.content))


def trust_label(trust: TrustChoice) -> str:
    if trust.untrusted_local:
        return f"{trust.name} — ⚠️ {UNTRUSTED_LABEL}"
    return trust.name


def run(context: ActionContext) -> int:
    mode = context.inputs.choice("mode", Mode)
    if mode is Mode.SIGN:
        return run_sign(context, plan_sign(context))
    return run_verify(context, plan_verify(context))


def run_sign(context: ActionContext, plan: SignPlan) -> int:
    console = context.console
    trust = load_trust(plan.trust_path, offline=False)
    if trust.untrusted_local:
        console.warning(f"signing with {UNTRUSTED_LABEL}: these signatures prove nothing")
    client = subject = None
    if plan.attach:
        client = registry_client(plan.target, plan.credentials, context, plan.timeout)
        subject = subject_descriptor(client, plan.target)  # before signing: nothing half-done
    raw_token = plan.explicit_token  # masked while planning
    if not raw_token:
        raw_token = ambient_token(context.environ, timeout=plan.timeout)
        console.mask(raw_token)
    token = identity_token(raw_token, explicit=bool(plan.explicit_token))

    name, digest = plan.target.image.name, plan.target.digest
    wanted: list[tuple[str, dict[str, Any]]] = [
        ("signature", statements.signature_statement(name, digest))
    ]
    if plan.github is not None:
        provenance = statements.provenance_statement(
            name,
            digest,
            plan.github,
            builder_id=plan.builder_id,
            dependencies=plan.dependencies,
            byproducts=plan.byproducts,
        )
        wanted.append(("provenance", provenance))
    if plan.sbom is not None:
        wanted.append(("sbom", statements.sbom_statement(name, digest, plan.sbom)))
    with console.group(f"Signing {len(wanted)} statement(s) for {plan.target.pinned}"):
        signed = sign_statements(trust, token, [s for _, s in wanted])
        for (kind, _), item in zip(wanted, signed, strict=True):
            console.info(f"{kind}: transparency log index {item.log_index}")

    plan.output_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for (kind, _), item in zip(wanted, signed, strict=True):
        path = plan.output_dir / f"{kind}{BUNDLE_SUFFIX}"
        path.write_text(item.bundle.to_json(), encoding="utf-8")
        paths[kind] = path

    referrers: list[str] = []
    method = ""
    if client is not None and subject is not None:
        created = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with console.group(f"Attaching {len(signed)} bundle(s) to {plan.target.pinned}"):
            for (kind, _), item in zip(wanted, signed, strict=True):
                attached = _attach_bundle(
                    client, plan, subject, paths, kind, item.predicate_type, created
                )
                referrers.append(attached.digest)
                method = attached.method
                console.info(f"{kind}: referrer {attached.digest} ({attached.method})")

    files = context.files
    files.set_output("digest", digest)
    files.set_output("bundles", "\n".join(str(p) for p in paths.values()))
    for kind in ("signature", "provenance", "sbom"):
        files.set_output(f"{kind}-bundle", str(paths[kind]) if kind in paths else "")
    files.set_output("referrers", "\n".join(referrers))
    files.set_output("attach-method", method)
    files.set_output("log-indexes", ",".join(str(s.log_index) for s in signed))
    files.set_output("predicate-types", ",".join(s.predicate_type for s in signed))

    summary = Summary().heading(f"Signed {code_span(plan.target.pinned)}")
    summary.paragraph(f"Sigstore instance: {inline(trust_label(trust))}")
    summary.table(
        ["Statement", "Predicate type", "Log index", "Bundle", "Referrer"],
        [
            [
                kind,
                item.predicate_type,
                item.log_index,
                paths[kind].name,
                referrers[i] if i < len(referrers) else "not attached",
            ]
            for i, ((kind, _), item) in enumerate(zip(wanted, signed, strict=True))
        ],
    )
    if method:
        summary.paragraph(f"Attached as OCI referrers via **{method}**.")
    context.write_summary(summary)
    return 0


def _attach_bundle(
    client: RegistryClient,
    plan: SignPlan,
    subject: Descriptor,
    paths: dict[str, Path],
    kind: str,
    predicate_type: str,
    created: str,
) -> AttachedReferrer:
    try:
        return attach(
            client,
            plan.target.image.repository,
            subject,
            paths[kind].read_bytes(),
            BUNDLE_MEDIA_TYPE,
            {
                "dev.sigstore.bundle.content": "dsse-envelope",
                "dev.sigstore.bundle.predicateType": predicate_type,
                "org.opencontainers.image.created": created,
            },
        )
    except RegistryError as error:
        raise ShiplineError(
            f"attaching the {kind} bundle to {plan.target.pinned} failed ({error}); the signed "
            f"bundles are in {plan.output_dir}, and signing again attaches them afresh"
        ) from None


def fetch_bundles(client: RegistryClient, target: Target) -> list[BundleSource]:
    repository = target.image.repository
    found = client.referrers(repository, target.digest, BUNDLE_MEDIA_TYPE)
    sources = []
    for descriptor in found.descriptors:
        manifest = client.get_manifest(repository, descriptor.digest)
        if manifest is None:
            continue
        for layer in manifest.json().get("layers") or []:
            if isinstance(layer, dict) and layer.get("mediaType") == BUNDLE_MEDIA_TYPE:
                blob = client.get_blob(repository, str(layer["digest"]))
                sources.append(
                    BundleSource(
                        f"referrer {descriptor.digest[:19]}", blob.decode("utf-8", "replace")
                    )
                )
    return sources


def run_verify(context: ActionContext, plan: VerifyPlan) -> int:
    console = context.console
    trust = load_trust(plan.trust_path, offline=True)
    if plan.bundle_files:
        sources = [
            BundleSource(p.name, p.read_text(encoding="utf-8", errors="replace"))
            for p in plan.bundle_files
        ]
    else:
        client = registry_client(plan.target, plan.credentials, context, plan.timeout)
        try:
            sources = fetch_bundles(client, plan.target)
        except RegistryError as error:
            raise ShiplineError(
                f"could not read the referrers of {plan.target.pinned}: {error}"
            ) from None
    report = verify_bundles(
        sources,
        trust.config.trusted_root,
        plan.identity,
        plan.target.digest,
        plan.predicate_types,
    )
    for result in report.results:
        if result.reason is not None:
            console.warning(
                f"{result.origin}: {result.reason.value}: {result.detail}", title="sign verify"
            )
    files = context.files
    files.set_output("digest", plan.target.digest)
    files.set_output("verified", report.verified)
    files.set_output("predicate-types", ",".join(report.verified_types()))
    files.set_output("bundles", "\n".join(r.origin for r in report.results if r.verified))
    files.set_output(
        "log-indexes", ",".join(str(r.log_index) for r in report.results if r.verified)
    )
    files.set_output("reason", report.reason.value if report.reason else "")
    verdict = (
        "✅ verified" if report.verified else f"❌ {report.reason.value if report.reason else ''}"
    )
    summary = Summary().heading(f"Verify {code_span(plan.target.pinned)}: {verdict}")
    expected = plan.identity
    summary.paragraph(
        f"Trusted root: {inline(trust_label(trust))}. Expected signer: "
        f"{code_span(expected.repository)} workflow {code_span(expected.workflow or 'any')} ref "
        f"{code_span(expected.ref or 'any')} issuer {code_span(expected.issuer)}."
    )
    summary.table(
        ["Bundle", "Predicate type", "Signer", "Log index", "Result"],
        [
            [
                r.origin,
                _shown_predicate(r),
                r.signer.describe() if r.signer else "?",
                "" if r.log_index is None else r.log_index,
                "✅ verified"
                if r.verified
                else f"❌ {r.reason.value if r.reason else ''}: {r.detail}",
            ]
            for r in report.results
        ],
    )
    if report.missing:
        summary.paragraph(f"Missing verified predicate types: {inline(', '.join(report.missing))}")
    context.write_summary(summary)
    if report.verified:
        console.info(report.explanation())
        return 0
    console.error(report.explanation(), title="sign verify")
    return 1


def _shown_predicate(result: BundleResult) -> str:
    if not result.predicate_type:
        return "?"
    return result.predicate_type if result.verified else f"{result.predicate_type} (unverified)"
