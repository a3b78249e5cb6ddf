"""Rerunning the same commit: reuse the image its tags already name, or refuse, or build.

A rerun (GitHub's "Re-run failed jobs", a retried workflow) builds a new image whose
``created`` label differs, so its digest can never equal the one the commit's tags
already name. Rather than refuse such a rerun, ``build-cache`` reuses the existing image,
but only when there is no doubt it is this commit's image: every requested tag exists,
all name one digest, and that image's revision label is the commit being built.
Anything in between stays a refusal: no tag is ever moved.

:func:`decide_reuse` is the decision, plain data in and out;
:func:`image_config` reads what it needs from the registry with the OCI client.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shipline.oci.client import Manifest, RegistryClient, RegistryError
from shipline.oci.copy import image_blobs

REVISION_LABEL = "org.opencontainers.image.revision"


class ReuseVerdict(StrEnum):
    BUILD = "build"  # no requested tag exists yet
    REUSE = "reuse"  # every tag names this commit's image already
    REFUSE = "refuse"  # building would have to move or split tags


@dataclass(frozen=True)
class ReuseDecision:
    verdict: ReuseVerdict
    digest: str | None = None  # the image to reuse (REUSE only)
    reason: str = ""  # why, for the error message or the log


def decide_reuse(
    repository: str,
    sha: str,
    existing: Mapping[str, str | None],
    revisions: Mapping[str, str | None],
) -> ReuseDecision:
    """What to do for ``sha`` given each requested tag's current digest (None: absent).

    ``existing`` keeps the requested order (SHA tag first); ``revisions`` gives the revision
    label of each digest in it (None: unreadable or missing), looked up by the caller.
    """
    present = {tag: digest for tag, digest in existing.items() if digest is not None}
    if not present:
        return ReuseDecision(ReuseVerdict.BUILD, reason="no requested tag exists yet")
    named = [f"{repository}:{tag} already names {digest}" for tag, digest in present.items()]
    absent = [tag for tag, digest in existing.items() if digest is None]
    if absent:
        return ReuseDecision(
            ReuseVerdict.REFUSE,
            reason=f"{'; '.join(named)}, but {', '.join(absent)} does not exist: a new build "
            "would get another digest, so the tags would disagree",
        )
    digests = sorted(set(present.values()))
    if len(digests) > 1:
        return ReuseDecision(
            ReuseVerdict.REFUSE,
            reason=f"{'; '.join(named)}: the tags name different images",
        )
    [digest] = digests
    revision = revisions.get(digest)
    if revision != sha:
        found = f"commit {revision}" if revision else f"no {REVISION_LABEL} label"
        return ReuseDecision(
            ReuseVerdict.REFUSE,
            reason=f"{'; '.join(named)}, built from {found}, not {sha}",
        )
    return ReuseDecision(
        ReuseVerdict.REUSE, digest=digest, reason=f"every tag names {digest}, built from {sha}"
    )


def existing_digests(
    client: RegistryClient, repository: str, tags: Sequence[str]
) -> dict[str, str | None]:
    """Each tag's current digest in ``repository``, None where the tag does not exist."""
    return {tag: client.manifest_digest(repository, tag) for tag in tags}


def image_config(client: RegistryClient, repository: str, manifest: Manifest) -> dict[str, Any]:
    """The image configuration (``config.Labels`` and so on) of a single-platform image."""
    config = image_blobs(manifest)[0]
    document = json.loads(client.get_blob(repository, config.digest))
    if not isinstance(document, dict):
        raise RegistryError(f"the config of {repository}@{manifest.digest} is not a JSON object")
    return document


def image_labels(config: Mapping[str, Any]) -> dict[str, str]:
    """``config.Labels`` of an image configuration; empty when it has none (or is malformed)."""
    settings = config.get("config")
    labels = settings.get("Labels") if isinstance(settings, dict) else None
    if not isinstance(labels, dict):
        return {}
    return {str(name): str(value) for name, value in labels.items()}
