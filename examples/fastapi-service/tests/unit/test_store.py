from datetime import UTC, datetime, timedelta
from uuid import uuid4

from app.models import OrderCreate
from app.store import OrderStore, utc_now


def test_store_stamps_orders_with_its_clock() -> None:
    ticks = iter([datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC)])
    store = OrderStore(clock=lambda: next(ticks))
    request = OrderCreate(sku="MUG-01", quantity=1, customer="ada")

    first, second = store.add(request), store.add(request)

    assert first.received_at == datetime(2025, 1, 1, tzinfo=UTC)
    assert second.received_at == datetime(2025, 1, 2, tzinfo=UTC)
    assert first.id != second.id


def test_store_finds_added_orders_and_only_those() -> None:
    store = OrderStore()
    order = store.add(OrderCreate(sku="MUG-01", quantity=3, customer="ada"))

    assert store.get(order.id) == order
    assert store.get(uuid4()) is None
    assert len(store) == 1


def test_page_past_the_end_is_empty() -> None:
    store = OrderStore()
    store.add(OrderCreate(sku="MUG-01", quantity=3, customer="ada"))

    assert store.page(offset=1, limit=10) == []
    assert len(store.page(offset=0, limit=10)) == 1


def test_default_clock_is_current_utc_time() -> None:
    now = utc_now()

    assert now.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - now) < timedelta(seconds=5)
