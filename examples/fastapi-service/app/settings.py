"""Build identity, injected by the pipeline as environment variables at deploy time."""

from collections.abc import Mapping
from dataclasses import dataclass

UNKNOWN = "dev"


@dataclass(frozen=True)
class Settings:
    version: str = UNKNOWN
    git_sha: str = UNKNOWN

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Settings":
        # An empty value counts as unset: a workflow passing `${{ inputs.x }}` for an absent
        # input sets the variable to "" and the service should still say "dev", not "".
        return cls(
            version=environ.get("APP_VERSION") or UNKNOWN,
            git_sha=environ.get("GIT_SHA") or UNKNOWN,
        )
