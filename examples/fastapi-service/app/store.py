"""An in-memory order store: per process, lost on restart, enough for a sample service."""

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID, uuid4

from app.models import Order, OrderCreate

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class OrderStore:
    """Orders in arrival order.

    No lock: the endpoints are async and none of these methods awaits, so every call runs to
    completion on the event loop before the next one starts.
    """

    def __init__(self, clock: Clock = utc_now) -> None:
        # Injectable so that tests can assert exact timestamps.
        self._clock = clock
        self._orders: dict[UUID, Order] = {}

    def add(self, request: OrderCreate) -> Order:
        order = Order(
            id=uuid4(),
            sku=request.sku,
            quantity=request.quantity,
            customer=request.customer,
            received_at=self._clock(),
        )
        self._orders[order.id] = order
        return order

    def get(self, order_id: UUID) -> Order | None:
        return self._orders.get(order_id)

    def page(self, offset: int, limit: int) -> list[Order]:
        return list(self._orders.values())[offset : offset + limit]

    def __len__(self) -> int:
        return len(self._orders)
