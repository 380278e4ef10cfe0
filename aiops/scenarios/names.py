"""Name pools for services, ordered from the most to the least common.

Small topologies take names from the front of each pool, so a ten-service graph still has a
checkout and a payments; large ones combine a base name with a qualifier (`orders-eu`,
`pricing-worker`). No service name ends in `-<digits>`, which is reserved for replicas.
"""

from __future__ import annotations

import random

EDGE = (
    "edge-gateway",
    "api-gateway",
    "mobile-gateway",
    "partner-gateway",
    "ingress",
    "cdn-edge",
)
WEB = (
    "web-frontend",
    "storefront",
    "mobile-bff",
    "cart-web",
    "partner-bff",
    "admin-portal",
    "graphql-bff",
    "seller-portal",
    "help-center",
)
DOMAIN = (
    "checkout",
    "payments",
    "orders",
    "inventory",
    "catalog",
    "search",
    "cart",
    "shipping",
    "pricing",
    "accounts",
    "recommendations",
    "notifications",
    "fraud",
    "ledger",
    "billing",
    "reviews",
    "loyalty",
    "promotions",
    "tax",
    "returns",
    "fulfillment",
    "profile",
    "wishlist",
    "media",
    "invoicing",
    "subscriptions",
    "refunds",
    "warehouse",
    "tracking",
    "support",
    "analytics",
    "reporting",
    "currency",
    "geo",
    "kyc",
)
PLATFORM = (
    "auth",
    "config",
    "feature-flags",
    "session",
    "rate-limiter",
    "secrets",
    "service-discovery",
    "audit-log",
    "id-generator",
    "email-sender",
    "sms-gateway",
    "scheduler",
    "image-resizer",
    "geo-ip",
    "token-service",
)
QUALIFIERS = (
    "eu",
    "us",
    "apac",
    "worker",
    "sync",
    "batch",
    "v2",
    "internal",
    "legacy",
    "core",
    "stream",
    "admin",
)
# Suffixes for data stores, by store kind, first choice first.
STORE_SUFFIXES = {
    "db": ("db", "pg", "mysql", "store", "archive-db", "replica-db"),
    "cache": ("cache", "redis", "memcache", "kv"),
    "queue": ("queue", "events", "stream", "kafka", "jobs"),
}
# Business-critical domains: their services get criticality high.
CRITICAL_DOMAINS = frozenset({"checkout", "payments", "orders", "cart", "accounts", "auth"})


def pick_names(rng: random.Random, pool: tuple[str, ...], k: int, taken: set[str]) -> list[str]:
    """`k` new names: from the pool (front names more likely), then qualified variants."""
    free = [name for name in pool if name not in taken]
    weights = [1.0 / (i + 3) for i in range(len(free))]
    chosen: list[str] = []
    while free and len(chosen) < k:
        i = rng.choices(range(len(free)), weights=weights)[0]
        chosen.append(free.pop(i))
        weights.pop(i)
    variants = [f"{base}-{q}" for q in QUALIFIERS for base in pool]
    rng.shuffle(variants)
    for name in variants:
        if len(chosen) >= k:
            break
        if name not in taken and name not in chosen:
            chosen.append(name)
    serial = 2
    while len(chosen) < k:  # beyond every variant: numbered generations (`orders-gen2`)
        name = f"{pool[serial % len(pool)]}-gen{serial}"
        if name not in taken and name not in chosen:
            chosen.append(name)
        serial += 1
    taken.update(chosen)
    return chosen


def base_name(name: str) -> str:
    """The domain a name belongs to: `orders-eu-api` → `orders`."""
    for domain in _BY_LENGTH:
        if name == domain or name.startswith(domain + "-"):
            return domain
    return name


_BY_LENGTH = sorted(DOMAIN + PLATFORM, key=len, reverse=True)
