from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from tests.unit.conftest import FIXED_NOW

VALID_ORDER = {"sku": "MUG-RED-01", "quantity": 2, "customer": "Ada Lovelace"}


def _place(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/orders", json={**VALID_ORDER, **overrides})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_order_returns_the_order_with_id_and_receipt_time(client: TestClient) -> None:
    response = client.post("/orders", json=VALID_ORDER)

    assert response.status_code == 201
    body = response.json()
    assert UUID(body.pop("id")).version == 4
    assert body == {**VALID_ORDER, "received_at": "2025-01-02T03:04:05Z"}


def test_received_at_comes_from_the_store_clock(client: TestClient) -> None:
    body = _place(client)

    assert body["received_at"] == FIXED_NOW.isoformat().replace("+00:00", "Z")
    assert "recieved_at" not in body


def test_create_order_points_to_the_new_order(client: TestClient) -> None:
    response = client.post("/orders", json=VALID_ORDER)

    location = response.headers["location"]
    assert location == f"/orders/{response.json()['id']}"
    assert client.get(location).json() == response.json()


def test_each_order_gets_its_own_id(client: TestClient) -> None:
    ids = {_place(client)["id"] for _ in range(5)}

    assert len(ids) == 5


def test_get_order_returns_what_was_created(client: TestClient) -> None:
    created = _place(client, quantity=7)

    response = client.get(f"/orders/{created['id']}")

    assert response.status_code == 200
    assert response.json() == created


def test_get_unknown_order_is_404_with_a_clear_detail(client: TestClient) -> None:
    missing = "6f1c1e0e-2f4b-4c5a-9d7e-0d6f0b7d2a11"

    response = client.get(f"/orders/{missing}")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Order {missing} not found"}


def test_get_order_with_a_malformed_id_is_422(client: TestClient) -> None:
    response = client.get("/orders/42")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "order_id"]


def test_list_is_empty_at_first(client: TestClient) -> None:
    assert client.get("/orders").json() == {"items": [], "total": 0}


def test_list_returns_orders_oldest_first(client: TestClient) -> None:
    created = [_place(client, customer=name) for name in ("a", "b", "c")]

    body = client.get("/orders").json()

    assert body == {"items": created, "total": 3}


def test_list_pages_with_limit_and_offset(client: TestClient) -> None:
    created = [_place(client, quantity=n) for n in range(1, 6)]

    body = client.get("/orders", params={"limit": 2, "offset": 1}).json()

    assert body == {"items": created[1:3], "total": 5}


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"offset": -1}, "offset")],
)
def test_list_rejects_out_of_range_paging(
    client: TestClient, params: dict[str, int], field: str
) -> None:
    response = client.get("/orders", params=params)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", field]


@pytest.mark.parametrize(
    ("overrides", "field", "error_type"),
    [
        ({"quantity": 0}, "quantity", "greater_than_equal"),
        ({"quantity": 101}, "quantity", "less_than_equal"),
        ({"quantity": "two"}, "quantity", "int_parsing"),
        ({"sku": "mug-red-01"}, "sku", "string_pattern_mismatch"),
        ({"sku": "AB"}, "sku", "string_pattern_mismatch"),
        ({"customer": ""}, "customer", "string_too_short"),
        ({"customer": "x" * 101}, "customer", "string_too_long"),
        ({"recieved_at": "2025-01-01T00:00:00Z"}, "recieved_at", "extra_forbidden"),
    ],
)
def test_create_order_rejects_invalid_bodies(
    client: TestClient, overrides: dict[str, Any], field: str, error_type: str
) -> None:
    response = client.post("/orders", json={**VALID_ORDER, **overrides})

    assert response.status_code == 422
    errors = response.json()["detail"]
    assert [(error["loc"], error["type"]) for error in errors] == [(["body", field], error_type)]
    assert client.get("/orders").json()["total"] == 0


def test_create_order_requires_every_field(client: TestClient) -> None:
    response = client.post("/orders", json={})

    assert response.status_code == 422
    missing = {error["loc"][-1] for error in response.json()["detail"]}
    assert missing == {"sku", "quantity", "customer"}


def test_server_sets_id_and_receipt_time_not_the_client(client: TestClient) -> None:
    response = client.post("/orders", json={**VALID_ORDER, "id": "not-yours"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "extra_forbidden"
