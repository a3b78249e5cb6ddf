from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.store import OrderStore

FIXED_NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def client() -> Iterator[TestClient]:
    store = OrderStore(clock=lambda: FIXED_NOW)
    app = create_app(settings=Settings(version="1.4.2", git_sha="0123abc"), store=store)
    # Entering the client runs the lifespan, as uvicorn would.
    with TestClient(app) as test_client:
        yield test_client
