"""Tenants and API keys: create, list, revoke keys, and authenticate a presented key.

A key reads ``ws_<key id>_<secret>``. The key id is public (it names the key in ``keys list`` and is
how a presented key is found); only a salted scrypt hash of the whole key is stored, so the database
never holds a usable key. Keys carry scopes: ``read`` (GET and queries), ``write`` (create, cancel)
and ``admin`` (reserved for key management over HTTP, which is not exposed yet).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from service.context import ServiceContext
from service.db import ApiKeyRecord, ApiKeyRepository, TenantRepository, api_key_by_id
from service.errors import AuthenticationError, InvalidRequestError, NotFoundError

__all__ = [
    "LOCAL_TENANT",
    "SCOPES",
    "CreatedKey",
    "KeyVerifier",
    "Principal",
    "authenticate",
    "create_key",
    "ensure_tenant",
    "hash_key",
    "list_keys",
    "local_principal",
    "parse_scopes",
    "revoke_key",
    "verify_key",
]

SCOPES = ("read", "write", "admin")
LOCAL_TENANT = "local"
KEY_PREFIX = "ws_"
_KEY_ID_HEX = 12
_TENANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
#: scrypt cost: about 16 MiB and tens of milliseconds per hash; verified keys are then cached.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


@dataclass(frozen=True)
class Principal:
    """Who is asking: a tenant, the key used (None for the local default) and its scopes."""

    tenant_id: int
    tenant: str
    key_id: str | None
    scopes: frozenset[str]


@dataclass(frozen=True)
class CreatedKey:
    """A new key: ``key`` is shown once and never stored."""

    key: str
    record: ApiKeyRecord


def _scrypt(key: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(key.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def hash_key(key: str) -> str:
    """``scrypt$n$r$p$<salt hex>$<hash hex>`` of ``key`` with a new random salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(key, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_key(key: str, stored: str) -> bool:
    """True when ``key`` hashes to ``stored`` (constant-time comparison)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        computed = _scrypt(key, bytes.fromhex(salt), int(n), int(r), int(p))
        return hmac.compare_digest(computed, bytes.fromhex(digest))
    except ValueError:
        return False


class KeyVerifier:
    """Verifies keys against their stored hash, remembering keys that passed in this process.

    The memory holds an HMAC of each verified key under a random per-process secret, never the key.
    Revocation is still checked on every request: the key's row is read each time.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._pepper = secrets.token_bytes(32)
        self._verified: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def _mac(self, key: str) -> bytes:
        return hmac.new(self._pepper, key.encode(), hashlib.sha256).digest()

    def verify(self, key: str, record: ApiKeyRecord) -> bool:
        """True when ``key`` is the key of ``record``."""
        mac = self._mac(key)
        with self._lock:
            known = self._verified.get(record.secret_hash)
        if known is not None and hmac.compare_digest(known, mac):
            return True
        if not verify_key(key, record.secret_hash):
            return False
        with self._lock:
            if len(self._verified) >= self.max_entries:
                self._verified.clear()
            self._verified[record.secret_hash] = mac
        return True


def parse_scopes(text: str) -> list[str]:
    """``"read,write"`` -> ``["read", "write"]`` in canonical order; unknown scopes are an error."""
    names = {s.strip() for s in text.split(",") if s.strip()}
    unknown = sorted(names - set(SCOPES))
    if unknown or not names:
        raise InvalidRequestError(
            f"unknown scopes {unknown}; choose from {list(SCOPES)}"
            if unknown
            else f"give at least one scope of {list(SCOPES)}"
        )
    return [s for s in SCOPES if s in names]


def ensure_tenant(ctx: ServiceContext, name: str) -> int:
    """The id of tenant ``name``, created if new.

    Raises:
        InvalidRequestError: not a valid tenant name (lower-case letters, digits, ``_.-``).
    """
    if not _TENANT_NAME.match(name):
        raise InvalidRequestError(
            f"invalid tenant name {name!r}: use 1-64 lower-case letters, digits, '_', '.', '-'"
        )
    for _ in range(2):
        with ctx.db.session() as session:
            found = TenantRepository(session).get_by_name(name)
        if found is not None:
            return found.id
        try:
            with ctx.db.session() as session:
                return TenantRepository(session).add(name).id
        except IntegrityError:
            continue  # created concurrently: read it
    raise RuntimeError(f"tenant {name!r} could neither be found nor created")


def local_principal(ctx: ServiceContext) -> Principal:
    """The local default tenant with every scope (loopback without ``WARMSTART_AUTH=required``)."""
    return Principal(
        tenant_id=ctx.local_tenant_id, tenant=LOCAL_TENANT, key_id=None, scopes=frozenset(SCOPES)
    )


def create_key(ctx: ServiceContext, tenant: str, scopes: list[str]) -> CreatedKey:
    """A new key for ``tenant`` (created if new) with ``scopes``."""
    tenant_id = ensure_tenant(ctx, tenant)
    key_id = secrets.token_hex(_KEY_ID_HEX // 2)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    with ctx.db.session() as session:
        record = ApiKeyRepository(session).add(
            key_id=key_id, tenant_id=tenant_id, secret_hash=hash_key(key), scopes=scopes
        )
    return CreatedKey(key=key, record=record)


def list_keys(ctx: ServiceContext, tenant: str | None = None) -> list[ApiKeyRecord]:
    """Every key (optionally of one tenant), oldest first; records hold hashes, never secrets."""
    with ctx.db.session() as session:
        return ApiKeyRepository(session).all(tenant_name=tenant)


def revoke_key(ctx: ServiceContext, key_id: str) -> None:
    """Revoke a key; it stops working at once. :class:`NotFoundError` if there is none."""
    with ctx.db.session() as session:
        found = ApiKeyRepository(session).revoke(key_id)
    if not found:
        raise NotFoundError(f"API key {key_id!r} not found (see `warmstart keys list`)")


def _key_id_of(key: str) -> str | None:
    if not key.startswith(KEY_PREFIX):
        return None
    key_id = key[len(KEY_PREFIX) : len(KEY_PREFIX) + _KEY_ID_HEX]
    rest = key[len(KEY_PREFIX) + _KEY_ID_HEX :]
    if len(key_id) != _KEY_ID_HEX or not rest.startswith("_") or len(rest) < 2:
        return None
    if any(c not in "0123456789abcdef" for c in key_id):
        return None
    return key_id


def authenticate(ctx: ServiceContext, key: str) -> Principal:
    """The principal of a presented key.

    Raises:
        AuthenticationError: malformed, unknown or revoked key (one message for all three).
    """
    invalid = AuthenticationError("invalid or revoked API key")
    key_id = _key_id_of(key)
    if key_id is None:
        raise invalid
    with ctx.db.read() as connection:
        record = api_key_by_id(connection, key_id)
    if record is None or record.revoked_at is not None or not ctx.key_verifier.verify(key, record):
        raise invalid
    return Principal(
        tenant_id=record.tenant_id,
        tenant=record.tenant_name,
        key_id=record.key_id,
        scopes=frozenset(record.scopes),
    )
