"""The transaction the SQL store's shared logic and its mixins write through."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Tx(Protocol):
    """The few operations the shared logic needs inside one transaction."""

    async def execute(self, sql: str, *args: Any) -> None: ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def fetch(self, sql: str, *args: Any) -> list[Sequence[Any]]: ...
