"""bump-config-repo: a one-line, idempotent, race-safe change of an image in a GitOps config repo."""
