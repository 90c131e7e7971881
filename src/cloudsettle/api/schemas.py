"""Shared response shapes: a page of items; money is always a string with the currency's decimals."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Strict(BaseModel):
    """Request bodies: unknown fields are refused, so a typo is a 422, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class PageOf(BaseModel, Generic[T]):
    """One page of a list and the total number of items."""

    items: list[T]
    total: int
    offset: int
    limit: int


class Done(BaseModel):
    """A plain acknowledgement."""

    ok: bool = True
    message: str = ""
