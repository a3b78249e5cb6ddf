"""Trust configuration: public-good by default (offline, from the root shipped with
sigstore), a ClientTrustConfig file for a private instance, and the UNTRUSTED label."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from shipline.errors import UsageError
from shipline.sign.trust import PUBLIC_GOOD, load_trust
from shipline.sigstore_local.instance import LocalSigstore
from tests.support.sigstore import OffLoopbackError, loopback_only, options, run_sign_step

__all__ = ["loopback_only"]


def test_public_good_is_the_default_and_needs_no_network_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loopback_only: list[str]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    trust = load_trust(None, offline=True)
    assert trust.name == PUBLIC_GOOD and not trust.untrusted_local
    authorities = trust.config.trusted_root._inner.certificate_authorities
    assert any(a.uri == "https://fulcio.sigstore.dev" for a in authorities)
    assert loopback_only == []


def test_a_local_instance_config_is_labelled_untrusted(tmp_path: Path) -> None:
    instance = LocalSigstore(tmp_path / "state")
    path = instance.write_trust_config(tmp_path / "trust.json")
    instance.stop()
    trust = load_trust(path, offline=True)
    assert trust.untrusted_local
    assert trust.config.signing_config.get_fulcio().url == instance.url


def test_a_private_instance_config_is_not_labelled(tmp_path: Path) -> None:
    instance = LocalSigstore(tmp_path / "state")
    document = (
        json.dumps(instance.trust_config())
        .replace("shipline local Sigstore (UNTRUSTED, for testing only)", "Private CA")
        .replace("shipline-local-UNTRUSTED", "acme")
    )
    instance.stop()
    path = tmp_path / "private.json"
    path.write_text(document)
    assert not load_trust(path, offline=True).untrusted_local


def test_a_file_that_is_not_a_trust_config_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "trust.json"
    path.write_text(
        json.dumps({"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"})
    )
    with pytest.raises(UsageError, match="expected a Sigstore ClientTrustConfig JSON"):
        load_trust(path, offline=True)


def test_the_socket_guard_stops_lookups_and_connections_off_loopback(
    loopback_only: list[str],
) -> None:
    with pytest.raises(OffLoopbackError):
        socket.getaddrinfo("tuf-repo-cdn.sigstore.dev", 443)
    with pytest.raises(OffLoopbackError), socket.socket() as probe:
        probe.connect(("192.0.2.1", 443))  # TEST-NET-1: must never be tried
    assert loopback_only == ["tuf-repo-cdn.sigstore.dev", "192.0.2.1"]


def test_signing_without_a_trust_config_goes_to_the_public_good_instance(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    loopback_only: list[str],
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    env = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:9/token",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t",
    }
    args = options(image="127.0.0.1:9/app@sha256:" + "a" * 64, provenance="false", attach="false")
    result = run_sign_step(monkeypatch, tmp_path, env, args, capsys)
    assert result.code == 1
    [error] = result.messages("error")
    assert error.startswith("cannot load the public-good Sigstore trust root")
    assert "tuf-repo-cdn.sigstore.dev" in loopback_only  # stopped by the guard, never sent
