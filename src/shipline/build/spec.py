"""Inputs and outputs of the ``build-cache`` action (kept equal to its action.yml by a test)."""

from shipline.gha.inputs import ActionSpec, InputSpec, OutputSpec

SPEC = ActionSpec(
    name="build-cache",
    description="Build a container image with layer and dependency caching, push it by digest "
    "and tag it immutably with the commit SHA; outputs the digest.",
    inputs=(
        InputSpec(
            "image", "Repository to push to, without a tag, e.g. ghcr.io/owner/app.", required=True
        ),
        InputSpec("context", "Build context directory, inside the workspace.", default="."),
        InputSpec(
            "dockerfile", "Dockerfile, inside the workspace (default: Dockerfile in the context)."
        ),
        InputSpec(
            "tags",
            "Extra immutable tags, comma or newline separated: a full version such as v1.2.3 or a "
            "tag containing a commit SHA. latest and other mutable-looking tags are refused.",
        ),
        InputSpec(
            "sha",
            "Commit SHA to tag and label the image with (default: the pull request's head SHA on "
            "pull_request events, else GITHUB_SHA, else the workspace's git HEAD).",
        ),
        InputSpec(
            "builder",
            "auto, buildah or docker (docker buildx); auto says which it picked.",
            default="auto",
        ),
        InputSpec(
            "cache",
            "Layer cache: registry (a cache repository next to the image), gha (docker only) or none.",
            default="registry",
        ),
        InputSpec(
            "cache-repository", "Repository for the registry layer cache (default: <image>-cache)."
        ),
        InputSpec("build-args", "Build arguments, one NAME=value per line."),
        InputSpec("labels", "Extra image labels, one name=value per line."),
        InputSpec(
            "source",
            "org.opencontainers.image.source label (default: the repository URL from GITHUB_SERVER_URL "
            "and GITHUB_REPOSITORY).",
        ),
        InputSpec(
            "version",
            "org.opencontainers.image.version label (default: the first full-version tag, else the SHA).",
        ),
        InputSpec(
            "username",
            "Registry username (default: credentials from REGISTRY_AUTH_FILE or the docker config).",
        ),
        InputSpec("password", "Registry password or token; masked, never logged.", secret=True),
        InputSpec(
            "insecure",
            "Talk plain HTTP to the registry: true, false or auto (auto: only for loopback registries).",
            default="auto",
        ),
        InputSpec(
            "ca-bundle",
            "CA bundle mounted read-only at /etc/ssl/certs/ca-certificates.crt in RUN steps (buildah), "
            "for builds behind a TLS-inspecting proxy.",
        ),
        InputSpec("timeout", "Time allowed for the build, e.g. 20m.", default="30m"),
        InputSpec(
            "reuse-existing",
            "On a rerun of the same commit, reuse the image its tags already name instead of "
            "refusing: only when every requested tag exists, all name one digest and that "
            "image's org.opencontainers.image.revision label is the commit SHA. Nothing is built, "
            "pushed or tagged then. Tags naming anything else are refused as always. true or false.",
            default="true",
        ),
    ),
    outputs=(
        OutputSpec("image", "The image as repository:tag, with the SHA tag."),
        OutputSpec(
            "digest", "Manifest digest, sha256:...; equal to the registry's Docker-Content-Digest."
        ),
        OutputSpec("image-ref", "The image as repository@sha256:..., for deployments and signing."),
        OutputSpec("tags", "Every pushed reference (repository:tag), one per line."),
        OutputSpec(
            "cache-key",
            "Dependency cache key from the lock files, for actions/cache (empty without one).",
        ),
        OutputSpec(
            "builder", "The builder used: buildah or docker; empty when the image was reused."
        ),
        OutputSpec("size", "Image size in bytes (config plus compressed layers)."),
        OutputSpec("build-seconds", "Build time in seconds (0.0 when the image was reused)."),
        OutputSpec(
            "reused",
            "true when the tags already named this commit's image and nothing was built or "
            "pushed (see reuse-existing), else false.",
        ),
    ),
    extra="build",
    icon="package",
)
