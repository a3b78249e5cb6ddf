"""Inputs and outputs of the ``bump-config-repo`` action (kept equal to its action.yml by a test)."""

from shipline.gha.inputs import ActionSpec, InputSpec, OutputSpec

SPEC = ActionSpec(
    name="bump-config-repo",
    description="Open or update a pull request to a GitOps config repository that changes exactly "
    "one line per image (kustomize, Helm values, raw manifests or a YAML path); idempotent, "
    "race-safe, never backwards.",
    inputs=(
        InputSpec("image", "New image reference with a tag and/or digest.", required=True),
        InputSpec("file", "File to edit, relative to the config repository root.", required=True),
        InputSpec(
            "repository",
            "Config repository: owner/name for the github transport, any git URL or path for git.",
            required=True,
        ),
        InputSpec(
            "transport",
            "github (pull request through the API) or git (plain push).",
            default="github",
        ),
        InputSpec("base", "Base branch (default: the repository's default branch; main for git)."),
        InputSpec("format", "auto, kustomize, helm, manifest or yaml-path.", default="auto"),
        InputSpec(
            "yaml-path", "Helm: path of the tag (default image.tag); yaml-path: path of the value."
        ),
        InputSpec("digest-path", "Helm: path of the digest, e.g. image.digest."),
        InputSpec(
            "value",
            "yaml-path format: write the whole reference, the tag or the digest.",
            default="reference",
        ),
        InputSpec("container", "Manifests: only the container with this name."),
        InputSpec("match", "The image name as the file spells it (default: the new image's name)."),
        InputSpec(
            "app",
            "Application name for the branch and title (default: the image's last path segment).",
        ),
        InputSpec("environment", "Environment name for the branch and title.", default="default"),
        InputSpec(
            "branch",
            "Branch template ({app} and {environment}); one branch and PR per app and environment.",
            default="shipline/bump/{app}/{environment}",
        ),
        InputSpec(
            "title", "Pull request title and commit subject template (fields in the README)."
        ),
        InputSpec("body", "Pull request body template (fields in the README)."),
        InputSpec(
            "direct-push",
            "git transport: push the commit to the base branch, no bump branch.",
            default="false",
        ),
        InputSpec("labels", "Labels for a new pull request, comma or newline separated."),
        InputSpec("reviewers", "Users to request reviews from."),
        InputSpec("team-reviewers", "Teams to request reviews from."),
        InputSpec("auto-merge", "Enable auto-merge on the pull request.", default="false"),
        InputSpec("merge-method", "merge, squash or rebase.", default="squash"),
        InputSpec(
            "merge-when-ready",
            "Merge directly when GitHub refuses auto-merge because the PR is already mergeable.",
            default="false",
        ),
        InputSpec(
            "close-superseded",
            "Close other open bump PRs of this app and environment.",
            default="false",
        ),
        InputSpec("allow-downgrade", "Allow an older version over a newer one.", default="false"),
        InputSpec(
            "source-repo",
            "The application's git checkout, for commit order and the changelog (skipped if not a repo).",
            default=".",
        ),
        InputSpec("commit", "Source commit of the image (default: $GITHUB_SHA)."),
        InputSpec("token", "GitHub token with contents and pull-requests write.", secret=True),
        InputSpec("app-id", "GitHub App id (with app-private-key, instead of token)."),
        InputSpec("app-private-key", "GitHub App private key (PEM).", secret=True),
        InputSpec("app-installation-id", "GitHub App installation id (default: looked up)."),
        InputSpec(
            "api-url", "GitHub API URL (default: $GITHUB_API_URL or https://api.github.com)."
        ),
        InputSpec("max-attempts", "Attempts for each request and for a lost race.", default="5"),
        InputSpec("timeout", "Time allowed for each request or git command.", default="60s"),
    ),
    outputs=(
        OutputSpec("operation", "created, updated or unchanged."),
        OutputSpec("pr-number", "Pull request number (github transport)."),
        OutputSpec("pr-url", "Pull request URL (github transport)."),
        OutputSpec(
            "commit-sha", "Commit that carries the change (or the current one when unchanged)."
        ),
        OutputSpec("branch", "Branch that carries the change."),
        OutputSpec("old-image", "Image the file pinned before."),
        OutputSpec("new-image", "Image the file pins now."),
        OutputSpec("api-calls", "Number of GitHub API requests made."),
    ),
    extra="bump",
    icon="git-pull-request",
)
