"""Encryption at rest: AES-256-GCM, a fresh 96-bit nonce per object, the object key as associated data (a sealed
file moved under another key does not open). The AES key is derived (HKDF-SHA256) from KUANXIN_DOCUMENT_KEY, which
lives only in the configuration; on a development machine it is made once under var/ like the other secrets."""
from __future__ import annotations

import functools
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kuanxin.core import settings

MAGIC = b"KXD1"  # format version of a sealed object: MAGIC + nonce + ciphertext with its tag
NONCE_BYTES = 12


class Unreadable(Exception):
    """A stored object that does not open with this key: a wrong key, or the object was changed."""


def derive_key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"kuanxin documents",
                info=b"aes-256-gcm at rest").derive(secret.encode("utf-8"))


class Sealer:
    def __init__(self, secret: str):
        if not secret:
            raise ValueError("the document key is empty")
        self._aead = AESGCM(derive_key(secret))

    @classmethod
    def configured(cls) -> Sealer:
        return cls(settings.document_key())

    @staticmethod
    @functools.lru_cache(maxsize=1)
    def shared() -> Sealer:
        """This process's sealer, made once."""
        return Sealer.configured()

    def seal(self, object_key: str, data: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return MAGIC + nonce + self._aead.encrypt(nonce, data, object_key.encode("ascii"))

    def open(self, object_key: str, sealed: bytes) -> bytes:
        if not sealed.startswith(MAGIC) or len(sealed) < len(MAGIC) + NONCE_BYTES + 16:
            raise Unreadable("not a sealed document")
        nonce = sealed[len(MAGIC):len(MAGIC) + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[len(MAGIC) + NONCE_BYTES:], object_key.encode("ascii"))
        except InvalidTag as error:
            raise Unreadable("the document does not open with this key") from error
