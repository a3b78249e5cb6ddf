"""Request and response bodies. Every field here is part of the published OpenAPI contract."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

Sku = Annotated[
    str,
    Field(
        pattern=r"^[A-Z0-9][A-Z0-9-]{2,31}$",
        description="Stock-keeping unit: 3 to 32 upper-case letters, digits or dashes.",
        examples=["MUG-RED-01"],
    ),
]


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]


class VersionInfo(BaseModel):
    version: str = Field(description="Release version of the running build, or 'dev'.")
    git_sha: str = Field(description="Commit the running build was made from, or 'dev'.")


class ErrorDetail(BaseModel):
    detail: str


class OrderCreate(BaseModel):
    # Unknown fields are rejected so that a client typo fails loudly instead of being dropped.
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    quantity: int = Field(ge=1, le=100, description="Units ordered, 1 to 100.")
    customer: str = Field(min_length=1, max_length=100, description="Who placed the order.")


class Order(BaseModel):
    id: UUID
    sku: Sku
    quantity: int
    customer: str
    received_at: datetime = Field(description="When the service accepted the order (UTC).")


class OrderPage(BaseModel):
    items: list[Order] = Field(description="Orders, oldest first.")
    total: int = Field(description="Number of orders held, regardless of the page size.")
