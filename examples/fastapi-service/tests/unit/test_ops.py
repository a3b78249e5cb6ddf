import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


def test_healthz_reports_ok(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_while_the_lifespan_runs(client: TestClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readyz_is_unavailable_before_startup_and_after_shutdown() -> None:
    app = create_app(settings=Settings())
    # A client that is not entered never runs the lifespan: the service has not started.
    assert TestClient(app).get("/readyz").status_code == 503

    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200

    after_shutdown = TestClient(app).get("/readyz")
    assert after_shutdown.status_code == 503
    assert after_shutdown.json() == {"status": "not_ready"}


def test_version_reports_the_build_identity(client: TestClient) -> None:
    response = client.get("/version")

    assert response.status_code == 200
    assert response.json() == {"version": "1.4.2", "git_sha": "0123abc"}


def test_settings_default_to_dev_when_unset_or_empty() -> None:
    assert Settings.from_env({}) == Settings(version="dev", git_sha="dev")
    assert Settings.from_env({"APP_VERSION": "", "GIT_SHA": ""}) == Settings("dev", "dev")


def test_settings_read_app_version_and_git_sha() -> None:
    settings = Settings.from_env({"APP_VERSION": "2.0.0", "GIT_SHA": "f" * 40})

    assert settings == Settings(version="2.0.0", git_sha="f" * 40)


def test_app_reads_settings_from_the_environment_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_VERSION", "3.1.0")
    monkeypatch.setenv("GIT_SHA", "deadbeef")

    body = TestClient(create_app()).get("/version").json()

    assert body == {"version": "3.1.0", "git_sha": "deadbeef"}
