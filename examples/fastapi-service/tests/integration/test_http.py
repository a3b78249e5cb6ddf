from uuid import uuid4

import httpx

from tests.integration.conftest import Service
from tests.openapi_checks import assert_matches, load_contract, response_schema


def _place(http: httpx.Client, customer: str) -> httpx.Response:
    return http.post("/orders", json={"sku": "MUG-RED-01", "quantity": 2, "customer": customer})


def _all_orders(http: httpx.Client) -> list[dict[str, object]]:
    # A long-lived service may hold more than one page; the total bounds the walk.
    orders: list[dict[str, object]] = []
    while True:
        page = http.get("/orders", params={"limit": 100, "offset": len(orders)}).json()
        orders.extend(page["items"])
        if not page["items"] or len(orders) >= page["total"]:
            return orders


def test_healthz(http: httpx.Client) -> None:
    response = http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz(http: httpx.Client) -> None:
    response = http.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_version_reports_the_build_it_runs(http: httpx.Client, service: Service) -> None:
    body = http.get("/version").json()

    assert set(body) == {"version", "git_sha"}
    assert all(isinstance(value, str) and value for value in body.values())
    if service.expected_version is not None:
        assert body == {"version": service.expected_version, "git_sha": service.expected_git_sha}


def test_order_round_trip(http: httpx.Client) -> None:
    # A unique customer keeps this test meaningful against a long-running shared service.
    customer = f"it-{uuid4()}"

    created = _place(http, customer)

    assert created.status_code == 201
    order = created.json()
    assert order["customer"] == customer
    fetched = http.get(created.headers["location"])
    assert fetched.status_code == 200
    assert fetched.json() == order
    assert order in _all_orders(http)


def test_order_response_honours_the_contract(http: httpx.Client) -> None:
    # This is what proves the built image ships the fixed field name, not just the source tree.
    contract = load_contract()

    body = _place(http, "contract-check").json()

    assert "received_at" in body
    assert_matches(contract, response_schema(contract, "POST", "/orders", 201), body)


def test_unknown_order_is_404(http: httpx.Client) -> None:
    missing = uuid4()

    response = http.get(f"/orders/{missing}")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Order {missing} not found"}


def test_invalid_order_is_422(http: httpx.Client) -> None:
    response = http.post("/orders", json={"sku": "MUG-RED-01", "quantity": 0, "customer": "x"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "quantity"]
