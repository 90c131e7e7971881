"""Sealing partner payout details with AES-GCM, with key ids for rotation; masked display.

The key ring comes from the environment or a key file, never from the
database (a copy of the database alone reveals no bank details):

- ``CLOUDSETTLE_PAYOUT_KEY``: ``KID:BASE64KEY[,KID:BASE64KEY...]``; the first is
  the current key, the others still open older details;
- ``CLOUDSETTLE_PAYOUT_KEY_FILE``: a JSON file
  ``{"current": "k2", "keys": {"k1": "BASE64", "k2": "BASE64"}}``.

Keys are 32 random bytes (AES-256), base64-encoded; :func:`new_key` makes one.
A sealed value is ``v1:KID:BASE64(nonce || ciphertext+tag)`` with a fresh
96-bit nonce each time; the partner id is the associated data, so details
copied onto another partner's row do not open. Rotation: add the new key in
front, run ``cloudsettle payout rekey``, then drop the old key.

Problems with the key (none configured, file missing or unreadable, a wrong
key, an unknown key id) raise :class:`~cloudsettle.services.errors.BadInput`
with a message that says what to fix and never shows key material.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cloudsettle.services.errors import BadInput

KEY_ENV = "CLOUDSETTLE_PAYOUT_KEY"
KEY_FILE_ENV = "CLOUDSETTLE_PAYOUT_KEY_FILE"
_VERSION = "v1"
_NONCE_BYTES = 12


def new_key() -> str:
    """A fresh random AES-256 key, base64-encoded."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode("ascii")


def _decode_key(kid: str, text: str, where: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadInput(f"payout key {kid!r} in {where} is not valid base64") from exc
    if len(raw) != 32:
        raise BadInput(f"payout key {kid!r} in {where} must be 32 bytes (AES-256), not {len(raw)}")
    return raw


@dataclass(frozen=True)
class KeyRing:
    """The payout keys by id, and which one seals new values."""

    current: str
    keys: Mapping[str, bytes]

    def __repr__(self) -> str:  # never print key material
        return f"KeyRing(current={self.current!r}, ids={sorted(self.keys)!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KeyRing:
        """The ring from ``CLOUDSETTLE_PAYOUT_KEY`` or ``CLOUDSETTLE_PAYOUT_KEY_FILE``."""
        environ = os.environ if env is None else env
        inline = environ.get(KEY_ENV, "").strip()
        if inline:
            return cls.parse(inline, where=KEY_ENV)
        path = environ.get(KEY_FILE_ENV, "").strip()
        if path:
            return cls.from_file(Path(path))
        raise BadInput(f"no payout key: set {KEY_ENV} (KID:BASE64KEY) or {KEY_FILE_ENV} (a key file)")

    @classmethod
    def parse(cls, text: str, *, where: str = KEY_ENV) -> KeyRing:
        """``KID:BASE64[,KID:BASE64...]``, the first being current."""
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for part in text.split(","):
            kid, sep, value = part.strip().partition(":")
            if not sep or not kid or not value:
                raise BadInput(f"{where}: expected KID:BASE64KEY[,KID:BASE64KEY...]")
            keys[kid] = _decode_key(kid, value, where)
            order.append(kid)
        return cls(order[0], keys)

    @classmethod
    def from_file(cls, path: Path) -> KeyRing:
        """A JSON key file ``{"current": KID, "keys": {KID: BASE64}}``."""
        if not path.is_file():
            raise BadInput(f"payout key file {path} does not exist")
        try:
            doc: Any = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadInput(f"payout key file {path} is not readable JSON: {exc.__class__.__name__}") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("keys"), dict) or not doc["keys"]:
            raise BadInput(f'payout key file {path}: expected {{"current": KID, "keys": {{KID: BASE64}}}}')
        keys = {str(k): _decode_key(str(k), str(v), str(path)) for k, v in doc["keys"].items()}
        current = str(doc.get("current") or next(iter(keys)))
        if current not in keys:
            raise BadInput(f"payout key file {path}: current key {current!r} is not among its keys")
        return cls(current, keys)


def seal(ring: KeyRing, plaintext: str, *, context: str) -> str:
    """Encrypt ``plaintext`` with the current key, bound to ``context`` (the partner id)."""
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(ring.keys[ring.current]).encrypt(nonce, plaintext.encode("utf-8"), context.encode())
    return f"{_VERSION}:{ring.current}:{base64.b64encode(nonce + ciphertext).decode('ascii')}"


def key_id_of(sealed: str) -> str:
    """The id of the key that sealed a value."""
    parts = sealed.split(":", 2)
    if len(parts) != 3 or parts[0] != _VERSION:
        raise BadInput("sealed payout details are not in a known format")
    return parts[1]


def open_sealed(ring: KeyRing, sealed: str, *, context: str) -> str:
    """Decrypt a sealed value; BadInput when the key is unknown or wrong, or the data altered."""
    kid = key_id_of(sealed)
    if kid not in ring.keys:
        raise BadInput(
            f"payout details of {context} are sealed with key {kid!r}, which the configured "
            f"key ring ({', '.join(sorted(ring.keys))}) does not have"
        )
    blob = base64.b64decode(sealed.split(":", 2)[2])
    try:
        plain = AESGCM(ring.keys[kid]).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], context.encode())
    except InvalidTag as exc:
        raise BadInput(
            f"payout details of {context} do not open with key {kid!r}: wrong key, or the "
            "stored details were altered"
        ) from exc
    return plain.decode("utf-8")


def seal_details(ring: KeyRing, details: Mapping[str, str], *, partner_id: str) -> str:
    """Seal a partner's payout details (a flat mapping of strings)."""
    return seal(ring, json.dumps(dict(details), sort_keys=True, ensure_ascii=False), context=partner_id)


def open_details(ring: KeyRing, sealed: str, *, partner_id: str) -> dict[str, str]:
    """The partner's payout details."""
    doc = json.loads(open_sealed(ring, sealed, context=partner_id))
    return {str(k): str(v) for k, v in doc.items()}


def mask(value: str, *, keep: int = 4) -> str:
    """Everything but the last ``keep`` characters hidden: ``DE89…3000`` -> ``************3000``."""
    compact = value.replace(" ", "")
    if len(compact) <= keep:
        return "*" * len(compact)
    return "*" * (len(compact) - keep) + compact[-keep:]


def masked_details(details: Mapping[str, str]) -> str:
    """A one-line masked view for listings and the audit log (names shown, numbers masked)."""
    shown = []
    for key in sorted(details):
        value = details[key]
        if key in ("account_name", "name", "bic"):
            shown.append(f"{key}={value}")
        else:
            shown.append(f"{key}={mask(value)}")
    return ", ".join(shown)


WORKSPACE_KEY_FILE = "payout-keys.json"


def workspace_ring(root: Path, env: Mapping[str, str] | None = None) -> KeyRing:
    """The payout key ring: from the environment when one is configured (production), else
    the workspace's own key file, created on first use with a fresh key and mode 0600, so
    bank details are never stored in plain text even on a laptop."""
    environ = os.environ if env is None else env
    if environ.get(KEY_ENV, "").strip() or environ.get(KEY_FILE_ENV, "").strip():
        return KeyRing.from_env(environ)
    path = root / WORKSPACE_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        kid = "k1"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump({"current": kid, "keys": {kid: new_key()}}, stream)
    return KeyRing.from_file(path)
