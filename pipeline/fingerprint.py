"""Stable alert identities.

Label sets use Prometheus/Alertmanager's algorithm so our fingerprints line up with theirs:
label names sorted, FNV-1a 64 over `name 0xFF value 0xFF` for every label, printed as 16
lowercase hex digits. An upstream fingerprint (Alertmanager's `fingerprint`, PagerDuty's
`dedup_key`) is always kept verbatim, never re-hashed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fnv_c import fnv1a_64

_CACHE_LIMIT = 200_000
_cache: dict[tuple[tuple[str, str], ...], str] = {}


def label_fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint of a label set."""
    key = tuple(sorted(labels.items()))
    cached = _cache.get(key)
    if cached is not None:
        return cached
    # Prometheus hashes raw bytes; the separator 0xFF is never valid inside UTF-8 text.
    data = b"".join(name.encode() + b"\xff" + value.encode() + b"\xff" for name, value in key)
    fp = f"{fnv1a_64(data):016x}"
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    _cache[key] = fp
    return fp


def alert_label_set(
    name: str,
    service: str | None,
    resource: str | None,
    labels: Mapping[str, str],
    ignore: Iterable[str] = (),
) -> dict[str, str]:
    """The identifying label set of a canonical alert.

    A label set that carries `alertname` came from Prometheus and is used as it is, so it
    hashes to Alertmanager's fingerprint; otherwise name, service and resource join the labels.
    """
    out = {k: v for k, v in labels.items() if k not in ignore}
    if "alertname" in out:
        return out
    out["alertname"] = name
    if service:
        out.setdefault("service", service)
    if resource:
        out.setdefault("resource", resource)
    return out


# (name, service, resource, ignore) -> recent (labels, fingerprint) pairs of that alert. Keyed
# without the labels: hashing every label value of every event costs more than comparing one
# or two label sets (dict equality compares values without hashing them).
_alert_cache: dict[tuple[object, ...], list[tuple[dict[str, str], str]]] = {}
_BUCKET_LIMIT = 8  # label sets kept per alert identity (a label that changes every event)


def alert_fingerprint(
    name: str,
    service: str | None,
    resource: str | None,
    labels: Mapping[str, str],
    ignore: frozenset[str] = frozenset(),
) -> str:
    """Fingerprint of a canonical alert's identifying label set (`alert_label_set`).

    Cached per alert identity and label set: re-fires of one alert carry the same labels, so
    the common case skips building, sorting and hashing the label set.
    """
    key = (name, service, resource, ignore)
    bucket = _alert_cache.get(key)
    if bucket is None:
        if len(_alert_cache) >= _CACHE_LIMIT:
            _alert_cache.clear()
        bucket = _alert_cache[key] = []
    else:
        for known, fp in bucket:
            if known == labels:
                return fp
    fp = label_fingerprint(alert_label_set(name, service, resource, labels, ignore))
    if len(bucket) >= _BUCKET_LIMIT:
        del bucket[0]
    bucket.append((dict(labels), fp))
    return fp
