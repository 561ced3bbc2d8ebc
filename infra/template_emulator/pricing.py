"""Prices what template_emulator.metering counted with the table in infra/template_emulator/prices.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from template_emulator.metering import SETUP, Line

PRICES = Path(__file__).with_name("prices.toml")
# Not per-snapshot work: the emulator's own requests, and DynamoDB's TTL deletes (free in AWS;
# the emulator plays them with real deletes).
UNBILLED_PRINCIPALS = {SETUP, "DynamoDB TTL"}


@dataclass(frozen=True)
class Price:
    service: str
    quantity: str
    usd: float
    per: float
    what: str
    source: str
    read_on: str
    operations: tuple[str, ...] = ()
    excluded_from_total: bool = False
    free_for_principals: tuple[str, ...] = ()

    def applies(self, service: str, operation: str, quantity: str) -> bool:
        return (
            self.service == service
            and self.quantity == quantity
            and (not self.operations or operation in self.operations)
        )


@dataclass(frozen=True)
class CostLine:
    principal: str
    service: str
    operation: str
    quantity: str
    amount: float
    usd: float
    price: Price

    @property
    def label(self) -> str:
        return f"{self.principal}: {self.service} {self.operation} {self.quantity}"


def load_prices(path: Path = PRICES) -> list[Price]:
    with open(path, "rb") as file:
        table = tomllib.load(file)
    return [
        Price(
            **{
                **entry,
                "operations": tuple(entry.get("operations", ())),
                "free_for_principals": tuple(entry.get("free_for_principals", ())),
            }
        )
        for entry in table["price"]
    ]


def billable(principal: str, service: str, operation: str, quantities: dict[str, float]) -> dict[str, float]:
    """What AWS would bill of a line: the idle long polls of an event source mapping (empty
    receives) depend on time, not on work, and are costed apart (docs/cost.md)."""
    if service == "sqs" and operation == "ReceiveMessage" and quantities.get("empty"):
        share = 1 - quantities["empty"] / quantities["requests"]
        return {**quantities, "chunks": quantities.get("chunks", 0) * share, "requests": quantities["requests"] * share}
    return quantities


def price_lines(lines: dict[Line, dict[str, Any]], prices: list[Price]) -> tuple[list[CostLine], list[str]]:
    """Every priced quantity as a cost line, and the services the table has no price for."""
    costed, unpriced = [], set()
    priced_services = {price.service for price in prices}
    for (principal, service, operation), quantities in lines.items():
        if principal in UNBILLED_PRINCIPALS:
            continue
        for quantity, amount in billable(principal, service, operation, quantities).items():
            match = next((price for price in prices if price.applies(service, operation, quantity)), None)
            if match is None:
                if service not in priced_services:
                    unpriced.add(service)
                continue
            free = any(name in principal for name in match.free_for_principals)
            usd = 0.0 if free else amount * match.usd / match.per
            costed.append(CostLine(principal, service, operation, quantity, amount, usd, match))
    return costed, sorted(unpriced)


def total(lines: list[CostLine]) -> float:
    return sum(line.usd for line in lines if not line.price.excluded_from_total)
