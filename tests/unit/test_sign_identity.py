"""The expected-identity policy a deploy gate applies to a Fulcio certificate."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from shipline.sign.identity import ExpectedIdentity, IdentityMismatchError, SignerIdentity
from shipline.sigstore_local.ca import LocalCA
from shipline.sigstore_local.oidc import github_claims
from tests.support.sigstore import issue_leaf

ISSUER = "https://token.actions.githubusercontent.com"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> x509.Certificate:
    ca = LocalCA.load(
        tmp_path_factory.mktemp("ca"),
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    claims = github_claims(
        "Acme/Shop", ".github/workflows/release.yml", "refs/tags/v1.4.0", "9" * 40
    )
    return issue_leaf(ca, claims, ISSUER)


def test_the_signer_is_read_from_the_certificate(certificate: x509.Certificate) -> None:
    signer = SignerIdentity.from_certificate(certificate)
    assert signer.issuer == ISSUER
    assert signer.repository == "Acme/Shop"
    assert signer.ref == "refs/tags/v1.4.0"
    assert signer.workflow_path == ".github/workflows/release.yml"


@pytest.mark.parametrize(
    "expected",
    [
        ExpectedIdentity("acme/shop", ".github/workflows/release.yml", "refs/tags/v1.4.0"),
        ExpectedIdentity("Acme/Shop", "./.github/workflows/release.yml", "refs/tags/v*"),
        ExpectedIdentity("acme/shop", "", ""),
    ],
)
def test_matching_identities_pass(
    certificate: x509.Certificate, expected: ExpectedIdentity
) -> None:
    expected.verify(certificate)


@pytest.mark.parametrize(
    ("expected", "message"),
    [
        (ExpectedIdentity("acme/other", "", ""), "repository is Acme/Shop, expected acme/other"),
        (
            ExpectedIdentity("acme/shop", "", "refs/heads/main"),
            "ref is refs/tags/v1.4.0, expected refs/heads/main",
        ),
        (ExpectedIdentity("acme/shop", "", "refs/tags/v2.*"), "expected refs/tags/v2.*"),
        (
            ExpectedIdentity("acme/shop", ".github/workflows/ci.yml", ""),
            "workflow is .github/workflows/release.yml",
        ),
        (
            ExpectedIdentity("acme/shop", "", "", issuer="https://accounts.google.com"),
            "issuer is https://token.actions",
        ),
    ],
)
def test_mismatches_name_what_differs(
    certificate: x509.Certificate, expected: ExpectedIdentity, message: str
) -> None:
    with pytest.raises(
        IdentityMismatchError, match=message.replace("*", r"\*").replace(".", r"\.")
    ):
        expected.verify(certificate)
