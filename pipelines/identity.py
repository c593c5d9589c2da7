"""Stable ids and author pseudonyms.

Post ids are derived from (source, native id) so a post keeps its id across reruns and sources.
Author ids are a keyed hash (HMAC-SHA256): the same author gets the same pseudonym across runs, and
nobody without the key can go back to the handle. The key comes from $LISTENING_PSEUDONYM_KEY; without
it a random key is created once in the storage root's state/ folder (never in config or code).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets

from pipelines.storage import STATE, Storage

log = logging.getLogger(__name__)

KEY_ENV = "LISTENING_PSEUDONYM_KEY"


def post_id(source: str, native_id: str) -> str:
    digest = hashlib.sha256(f"{source}\x1f{native_id}".encode()).hexdigest()
    return f"p_{digest[:20]}"


def content_id(*parts: str) -> str:
    """A stable id for content that has no id of its own."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def pseudonym_key(storage: Storage) -> bytes:
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode()
    path = storage.path(STATE, "pseudonym.key")
    if storage.exists(path):
        return storage.read_bytes(path).strip()
    key = secrets.token_hex(32).encode()
    storage.write_bytes(path, key)
    if storage.is_local:
        os.chmod(path, 0o600)
    log.warning("No %s set: created a local pseudonymisation key in %s", KEY_ENV, storage.uri(STATE))
    return key


class Pseudonymiser:
    def __init__(self, key: bytes):
        self._key = key

    def author(self, source: str, handle: str) -> str:
        normalised = handle.strip().lstrip("@").lower()
        digest = hmac.new(self._key, f"{source}\x1f{normalised}".encode(), hashlib.sha256).hexdigest()
        return f"a_{digest[:16]}"
