"""Which Sigstore instance to trust: a ClientTrustConfig file, or the public-good instance."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sigstore.errors import Error as SigstoreError
from sigstore.models import ClientTrustConfig

from shipline.errors import ShiplineError, UsageError
from shipline.sigstore_local import OPERATOR, UNTRUSTED_LABEL

PUBLIC_GOOD = "public-good"


@dataclass(frozen=True)
class TrustChoice:
    config: ClientTrustConfig
    name: str  # PUBLIC_GOOD, or the file it came from
    untrusted_local: bool  # a shipline local instance: fine for tests, proves nothing


def load_trust(path: Path | None, *, offline: bool) -> TrustChoice:
    """The trust config at ``path``, or public-good (offline: the root shipped with sigstore)."""
    if path is None:
        try:
            config = ClientTrustConfig.production(offline=offline)
        except SigstoreError as error:  # TUF refresh failed: the network, not the input
            raise ShiplineError(
                f"cannot load the public-good Sigstore trust root: {error}"
            ) from None
        return TrustChoice(config, PUBLIC_GOOD, untrusted_local=False)
    try:
        text = path.read_text(encoding="utf-8")
        document = json.loads(text)
        config = ClientTrustConfig.from_json(text)
        config.trusted_root  # noqa: B018 (parsing it is the check)
        config.signing_config  # noqa: B018
    except (OSError, ValueError, SigstoreError) as error:
        raise UsageError(
            f"input 'trust-config' got '{path}': expected a Sigstore ClientTrustConfig JSON "
            f"file ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})"
        ) from None
    return TrustChoice(config, str(path), untrusted_local=_is_local(document))


def _is_local(document: object) -> bool:
    text = json.dumps(document)
    return UNTRUSTED_LABEL in text or OPERATOR in text
