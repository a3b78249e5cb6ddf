"""The HTTP surface of the orders API. `app` is what uvicorn serves: `app.main:app`."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated
from uuid import UUID

from fastapi import FastAPI, HTTPException, Query, Response, status
from fastapi.routing import APIRoute

from app.models import (
    ErrorDetail,
    Health,
    Order,
    OrderCreate,
    OrderPage,
    Readiness,
    VersionInfo,
)
from app.settings import Settings
from app.store import OrderStore

# The version of the API contract, not of the build: the build identity changes on every commit
# and is served by /version, while the contract in contract/openapi.json must stay byte-stable.
API_VERSION = "1.0.0"


def _operation_id(route: APIRoute) -> str:
    # Stable, readable operation ids (`create_order`) instead of FastAPI's path-derived ones,
    # so generated clients and the pinned contract do not change when a path does.
    return route.name


def create_app(settings: Settings | None = None, store: OrderStore | None = None) -> FastAPI:
    settings = Settings.from_env(os.environ) if settings is None else settings
    # Not `store or ...`: an empty store has len() 0 and is falsy.
    orders = OrderStore() if store is None else store
    # Readiness follows the lifespan: traffic only once start-up has finished. A service with
    # real dependencies (a database behind the store) would check them in /readyz as well.
    lifecycle = {"ready": False}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        lifecycle["ready"] = True
        yield
        lifecycle["ready"] = False

    app = FastAPI(
        title="Orders API",
        version=API_VERSION,
        description="A small orders service, shipped from commit to production by shipline.",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )

    @app.get("/healthz", tags=["ops"], summary="Liveness: the process serves HTTP")
    async def healthz() -> Health:
        return Health(status="ok")

    @app.get(
        "/readyz",
        tags=["ops"],
        summary="Readiness: the service should receive traffic",
        responses={status.HTTP_503_SERVICE_UNAVAILABLE: {"model": Readiness}},
    )
    async def readyz(response: Response) -> Readiness:
        if lifecycle["ready"]:
            return Readiness(status="ready")
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Readiness(status="not_ready")

    @app.get("/version", tags=["ops"], summary="Build identity of the running service")
    async def version() -> VersionInfo:
        return VersionInfo(version=settings.version, git_sha=settings.git_sha)

    @app.post(
        "/orders",
        tags=["orders"],
        summary="Place an order",
        status_code=status.HTTP_201_CREATED,
    )
    async def create_order(request: OrderCreate, response: Response) -> Order:
        order = orders.add(request)
        response.headers["Location"] = f"/orders/{order.id}"
        return order

    @app.get("/orders", tags=["orders"], summary="List orders, oldest first")
    async def list_orders(
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> OrderPage:
        return OrderPage(items=orders.page(offset=offset, limit=limit), total=len(orders))

    @app.get(
        "/orders/{order_id}",
        tags=["orders"],
        summary="Fetch one order",
        responses={status.HTTP_404_NOT_FOUND: {"model": ErrorDetail}},
    )
    async def get_order(order_id: UUID) -> Order:
        order = orders.get(order_id)
        if order is None:
            raise HTTPException(
                status_code=status.HTTP_404_NOT_FOUND, detail=f"Order {order_id} not found"
            )
        return order

    return app


app = create_app()
