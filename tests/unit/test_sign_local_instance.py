"""The local UNTRUSTED Sigstore's building blocks, checked with sigstore's own parsers."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sigstore._internal import merkle as sigstore_merkle
from sigstore._internal.rekor.checkpoint import SignedCheckpoint
from sigstore._internal.sct import verify_sct
from sigstore._internal.trust import KeyringPurpose
from sigstore.models import ClientTrustConfig

from shipline.sigstore_local import UNTRUSTED_LABEL, merkle, tokens
from shipline.sigstore_local.instance import LocalSigstore
from shipline.sigstore_local.log import EntryRejectedError
from shipline.sigstore_local.oidc import github_claims
from tests.support.sigstore import issue_leaf


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSigstore]:
    """Never started: these tests call the pieces directly, without HTTP."""
    created = LocalSigstore(tmp_path_factory.mktemp("state"))
    yield created
    created.stop()


def _sigstore_root(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes:
    """The root sigstore's verifier computes from an audit path (an independent oracle)."""
    inner, border = sigstore_merkle._decomp_inclusion_proof(index, size)
    assert len(proof) == inner + border
    seed = sigstore_merkle._chain_inner(leaf, proof[:inner], index)
    return sigstore_merkle._chain_border_right(seed, proof[inner:])


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31])
def test_every_inclusion_proof_leads_to_the_root(size: int) -> None:
    leaves = [merkle.leaf_hash(f"entry {i}".encode()) for i in range(size)]
    root = merkle.root_hash(leaves)
    for index in range(size):
        proof = merkle.inclusion_proof(index, leaves)
        assert _sigstore_root(index, size, leaves[index], proof) == root
        assert merkle.root_from_proof(index, size, leaves[index], proof) == root


def test_a_proof_for_another_leaf_does_not_lead_to_the_root() -> None:
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(6)]
    proof = merkle.inclusion_proof(2, leaves)
    assert merkle.root_from_proof(2, 6, leaves[3], proof) != merkle.root_hash(leaves)


def test_checkpoint_is_a_signed_note_sigstore_reads(instance: LocalSigstore) -> None:
    root = merkle.root_hash([merkle.leaf_hash(b"x")])
    text = instance.log.checkpoint(1, root)
    parsed = SignedCheckpoint.from_text(text)
    assert parsed.checkpoint.log_size == 1
    assert parsed.checkpoint.log_hash == root.hex()
    assert "UNTRUSTED" in parsed.checkpoint.origin
    [signature] = parsed.signed_note.signatures
    assert signature.sig_hash == instance.log.log_id[:4]
    instance.keys.rekor.public_key().verify(
        base64.b64decode(signature.signature),
        parsed.signed_note.note.encode(),
        ec.ECDSA(hashes.SHA256()),
    )


def test_leaf_has_github_identity_and_one_sct_that_verifies(instance: LocalSigstore) -> None:
    claims = github_claims(
        "acme/shop", ".github/workflows/release.yml", "refs/heads/main", "e" * 40
    )
    leaf = issue_leaf(instance.ca, claims, instance.oidc_issuer)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical
    assert san.value.get_values_for_type(x509.UniformResourceIdentifier) == [
        "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main"
    ]
    repository = leaf.extensions.get_extension_for_oid(
        x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.5")
    )
    assert repository.value.value == b"acme/shop"  # type: ignore[attr-defined]
    source_uri = leaf.extensions.get_extension_for_oid(
        x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.12")
    )
    assert source_uri.value.value == b"\x0c\x1chttps://github.com/acme/shop"  # type: ignore[attr-defined]
    scts = leaf.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps)
    assert len(scts.value) == 1
    trust = ClientTrustConfig.from_json(json.dumps(instance.trust_config()))
    verify_sct(leaf, [instance.ca.root], trust.trusted_root.ct_keyring(KeyringPurpose.VERIFY))
    organization = instance.ca.root.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    assert organization[0].value == UNTRUSTED_LABEL


def test_the_log_refuses_an_entry_whose_signature_does_not_verify(instance: LocalSigstore) -> None:
    claims = github_claims("a/b", ".github/workflows/x.yml", "refs/heads/main", "1" * 40)
    leaf = issue_leaf(instance.ca, claims, "iss")
    pem = leaf.public_bytes(serialization.Encoding.PEM)
    envelope = {
        "payload": base64.b64encode(b"{}").decode(),
        "payloadType": "application/vnd.in-toto+json",
        "signatures": [{"sig": base64.b64encode(b"\x30\x06\x02\x01\x01\x02\x01\x01").decode()}],
    }
    proposed = {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "proposedContent": {
                "envelope": json.dumps(envelope),
                "verifiers": [base64.b64encode(pem).decode()],
            }
        },
    }
    size = instance.log.size
    with pytest.raises(EntryRejectedError, match="verifies with none of the verifiers"):
        instance.log.add(proposed)
    assert instance.log.size == size


def test_tokens_are_checked_for_signature_audience_and_expiry() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = int(time.time())
    claims = {"iss": "http://127.0.0.1/oidc", "aud": "sigstore", "sub": "s", "exp": now + 60}
    token = tokens.mint(key, "k", claims)
    assert (
        tokens.verify(token, key.public_key(), issuer="http://127.0.0.1/oidc", audience="sigstore")[
            "sub"
        ]
        == "s"
    )
    with pytest.raises(tokens.TokenError, match="audience"):
        tokens.verify(token, key.public_key(), issuer="http://127.0.0.1/oidc", audience="other")
    with pytest.raises(tokens.TokenError, match="signature"):
        tokens.verify(
            token,
            ec.generate_private_key(ec.SECP256R1()).public_key(),
            issuer="http://127.0.0.1/oidc",
            audience="sigstore",
        )
    expired = tokens.mint(key, "k", {**claims, "exp": now - 1})
    with pytest.raises(tokens.TokenError, match="expired"):
        tokens.verify(
            expired, key.public_key(), issuer="http://127.0.0.1/oidc", audience="sigstore"
        )


def test_the_instance_refuses_to_listen_off_loopback(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="only listens on loopback"):
        LocalSigstore(tmp_path, host="0.0.0.0")  # noqa: S104 (the point of the test)


def test_keys_persist_so_a_restart_keeps_the_trust_root(tmp_path: Path) -> None:
    first = LocalSigstore(tmp_path)
    root = first.trust_config()["trustedRoot"]
    first.stop()
    second = LocalSigstore(tmp_path)
    again = second.trust_config()["trustedRoot"]
    second.stop()
    assert (
        again["certificateAuthorities"][0]["certChain"]
        == root["certificateAuthorities"][0]["certChain"]
    )
    assert again["tlogs"][0]["logId"] == root["tlogs"][0]["logId"]
