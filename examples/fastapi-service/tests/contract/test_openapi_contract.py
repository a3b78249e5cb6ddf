"""The code must serve exactly the pinned contract in contract/openapi.json.

If a change to the API is intended, regenerate the contract with `python -m app.contract` and let
review see the diff; if it is not, this is the test that says so.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.contract import current_schema, render
from app.main import create_app
from app.settings import Settings
from app.store import OrderStore
from tests.openapi_checks import (
    CONTRACT_PATH,
    JsonSchema,
    assert_matches,
    documented_responses,
    load_contract,
    response_schema,
)

UNKNOWN_ORDER = "00000000-0000-4000-8000-000000000000"
NEW_ORDER = {"sku": "MUG-RED-01", "quantity": 2, "customer": "ada"}
BAD_ORDER = {"sku": "mug", "quantity": 0, "customer": "ada"}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    url: str
    status: int
    body: dict[str, Any] | None = None


# One call per documented response; the coverage test below keeps this list complete.
CALLS = [
    Call("GET", "/healthz", "/healthz", 200),
    Call("GET", "/readyz", "/readyz", 200),
    Call("GET", "/version", "/version", 200),
    Call("POST", "/orders", "/orders", 201, NEW_ORDER),
    Call("POST", "/orders", "/orders", 422, BAD_ORDER),
    Call("GET", "/orders", "/orders?limit=10", 200),
    Call("GET", "/orders", "/orders?limit=0", 422),
    Call("GET", "/orders/{order_id}", "/orders/{created}", 200),
    Call("GET", "/orders/{order_id}", f"/orders/{UNKNOWN_ORDER}", 404),
    Call("GET", "/orders/{order_id}", "/orders/not-a-uuid", 422),
]


@pytest.fixture(scope="module")
def contract() -> JsonSchema:
    return load_contract()


@pytest.fixture
def client() -> Iterator[TestClient]:
    store = OrderStore(clock=lambda: datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    with TestClient(create_app(settings=Settings(), store=store)) as test_client:
        yield test_client


def test_code_serves_the_pinned_contract(contract: JsonSchema) -> None:
    assert current_schema() == contract, (
        "app.openapi() differs from contract/openapi.json; "
        "run `python -m app.contract --check` to see the diff"
    )


def test_pinned_contract_is_in_canonical_form(contract: JsonSchema) -> None:
    # Hand edits that reorder keys would make the next regeneration a noisy diff.
    assert CONTRACT_PATH.read_text(encoding="utf-8") == render(contract)


def test_every_documented_response_is_exercised(contract: JsonSchema) -> None:
    exercised = {(call.method, call.path, call.status) for call in CALLS}
    # 503 from /readyz only happens outside the lifespan; test_not_ready_matches_contract has it.
    exercised.add(("GET", "/readyz", 503))
    assert exercised == documented_responses(contract)


def test_success_bodies_document_every_field_as_required(contract: JsonSchema) -> None:
    # With every property required, "no undocumented field and no missing required field"
    # means the body carries exactly the contract's properties.
    for name in ("Health", "Readiness", "VersionInfo", "Order", "OrderPage", "ErrorDetail"):
        schema = contract["components"]["schemas"][name]
        assert set(schema["required"]) == set(schema["properties"]), name


@pytest.mark.parametrize("call", CALLS, ids=lambda c: f"{c.method} {c.url} {c.status}")
def test_response_body_matches_contract(
    client: TestClient, contract: JsonSchema, call: Call
) -> None:
    created = client.post("/orders", json=NEW_ORDER).json()
    url = call.url.format(created=created["id"])
    schema = response_schema(contract, call.method, call.path, call.status)

    response = client.request(call.method, url, json=call.body)

    assert response.status_code == call.status, response.text
    assert response.headers["content-type"] == "application/json"
    assert_matches(contract, schema, response.json())


def test_not_ready_matches_contract(contract: JsonSchema) -> None:
    # Without the context manager TestClient does not run the lifespan: the service never started.
    response = TestClient(create_app(settings=Settings())).get("/readyz")

    assert response.status_code == 503
    assert_matches(contract, response_schema(contract, "GET", "/readyz", 503), response.json())


def test_checker_rejects_a_renamed_field(contract: JsonSchema) -> None:
    # Guards the guard: the exact drift of the typo story must not pass the body check.
    order = {
        "id": UNKNOWN_ORDER,
        "sku": "MUG-RED-01",
        "quantity": 1,
        "customer": "ada",
        "recieved_at": "2025-01-02T03:04:05Z",
    }
    with pytest.raises(AssertionError, match="recieved_at"):
        assert_matches(contract, response_schema(contract, "GET", "/orders/{order_id}", 200), order)
