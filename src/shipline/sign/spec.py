"""Inputs and outputs of the ``sign`` action (kept equal to actions/sign/action.yml by a test)."""

from shipline.gha.inputs import ActionSpec, InputSpec, OutputSpec

SPEC = ActionSpec(
    name="sign",
    description="Keyless Sigstore signing of an image digest (cosign-compatible signature, "
    "SLSA provenance, CycloneDX SBOM attestations) attached to the registry as OCI "
    "referrers; verify mode checks them offline for a deploy gate.",
    inputs=(
        InputSpec("mode", "sign, or verify for a deploy gate.", default="sign"),
        InputSpec(
            "image",
            "Image reference, e.g. ghcr.io/owner/app@sha256:<64 hex>; a reference without "
            "a digest needs the digest input.",
            required=True,
        ),
        InputSpec("digest", "Image manifest digest (sha256:<64 hex>), e.g. build-cache's output."),
        InputSpec(
            "provenance",
            "sign mode: also attest SLSA provenance v1 built from the GitHub context.",
            default="true",
        ),
        InputSpec("sbom", "sign mode: a CycloneDX JSON SBOM to attest (e.g. from trivy)."),
        InputSpec(
            "test-results",
            "sign mode: test reports linked by digest as provenance byproducts, comma or "
            "newline separated.",
        ),
        InputSpec(
            "scan-results",
            "sign mode: scan reports (SARIF, JSON) linked by digest as provenance byproducts.",
        ),
        InputSpec(
            "resolved-dependencies",
            "sign mode: extra provenance dependencies as <uri>@sha256:<hex>, e.g. the base image.",
        ),
        InputSpec(
            "builder-id",
            "sign mode: SLSA builder id (default: the workflow URI on the GitHub server).",
        ),
        InputSpec(
            "identity-token",
            "sign mode: an OIDC identity token; default: the job's ambient GitHub token "
            "(needs `permissions: id-token: write`).",
            secret=True,
        ),
        InputSpec(
            "trust-config",
            "Sigstore ClientTrustConfig JSON for a private instance (default: the "
            "public-good instance).",
        ),
        InputSpec(
            "attach", "sign mode: attach the bundles to the registry as referrers.", default="true"
        ),
        InputSpec(
            "output-dir", "Directory the bundle files are written to.", default="sigstore-bundles"
        ),
        InputSpec(
            "bundles",
            "verify mode: bundle files to verify instead of fetching referrers from the registry.",
        ),
        InputSpec("repository", "verify mode: expected source repository (owner/name)."),
        InputSpec(
            "workflow",
            "verify mode: expected signing workflow path, e.g. .github/workflows/release.yml.",
        ),
        InputSpec(
            "ref",
            "verify mode: expected git ref or glob pattern, e.g. refs/heads/main or refs/tags/v*.",
        ),
        InputSpec(
            "issuer",
            "verify mode: expected OIDC issuer.",
            default="https://token.actions.githubusercontent.com",
        ),
        InputSpec(
            "predicate-types",
            "verify mode: predicate types that must be present and verified, comma separated.",
            default="https://sigstore.dev/cosign/sign/v1",
        ),
        InputSpec("registry-username", "Registry user (default: docker/podman auth files)."),
        InputSpec("registry-password", "Registry password or token.", secret=True),
        InputSpec("timeout", "Time allowed for each network call, e.g. 30s.", default="30s"),
    ),
    outputs=(
        OutputSpec("digest", "The image digest signed or verified."),
        OutputSpec("bundles", "Paths of the bundle files written or verified, one per line."),
        OutputSpec("signature-bundle", "Path of the image signature bundle."),
        OutputSpec("provenance-bundle", "Path of the SLSA provenance bundle, when made."),
        OutputSpec("sbom-bundle", "Path of the SBOM attestation bundle, when made."),
        OutputSpec("referrers", "Digests of the referrer manifests pushed, one per line."),
        OutputSpec("attach-method", "referrers-api or tag-fallback (sha256-<hex> index tag)."),
        OutputSpec("log-indexes", "Transparency log indexes of the entries, comma separated."),
        OutputSpec("verified", "verify mode: true when every required predicate verified."),
        OutputSpec("predicate-types", "Predicate types signed or verified, comma separated."),
        OutputSpec(
            "reason",
            "verify mode, on failure: no-signature, wrong-identity, wrong-digest, "
            "tampered-bundle, untrusted-root or missing-predicate.",
        ),
    ),
    extra="sign",
    positional="mode",
    icon="shield",
)
