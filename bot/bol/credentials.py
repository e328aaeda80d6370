"""bol.com credentials at rest: sealed with Fernet under ``NORMWACHT_SECRET_KEY``."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretError(ValueError):
    """A sealed secret that this key cannot open (wrong key, or tampered)."""


def new_key() -> str:
    """A fresh key: 32 random bytes, URL-safe base64."""
    return Fernet.generate_key().decode("ascii")


def keys_of(key: bytes) -> list[bytes]:
    """The keys ``NORMWACHT_SECRET_KEY`` lists, comma-separated: the first seals, each opens."""
    return [k for k in key.split(b",") if k]


class SecretBox:
    """Seals and opens secrets; never logs or shows them. With several keys (rotation) it
    seals with the first and opens what any of them sealed."""

    def __init__(self, key: bytes) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in keys_of(key)])

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode("utf-8"))

    def open(self, sealed: bytes) -> str:
        try:
            return self._fernet.decrypt(sealed).decode("utf-8")
        except InvalidToken as exc:
            raise SecretError(
                "stored credentials cannot be decrypted with NORMWACHT_SECRET_KEY"
            ) from exc

    def reseal(self, sealed: bytes) -> bytes:
        """The same secret sealed anew with the first key (whichever key sealed it)."""
        try:
            return self._fernet.rotate(sealed)
        except InvalidToken as exc:
            raise SecretError(
                "stored credentials cannot be decrypted with any key of NORMWACHT_SECRET_KEY"
            ) from exc
