"""A local, UNTRUSTED Sigstore instance: Fulcio-compatible CA, Rekor v1-compatible log, OIDC issuer.

It exists so a pipeline can be run end to end on a laptop or in tests without the public-good
instance: the real ``sigstore`` Signer and Verifier talk to it unmodified. Nothing it signs
proves anything to anyone else: every name it puts in certificates, checkpoints and trust
configurations says UNTRUSTED, and it only ever listens on loopback.
"""

UNTRUSTED_LABEL = "shipline local Sigstore (UNTRUSTED, for testing only)"
OPERATOR = "shipline-local-UNTRUSTED"
