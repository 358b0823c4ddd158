"""The registry's signing keys: Ed25519, one current, older ones still published until retired.

Keys live in a directory (``SIGNING_KEYS_DIR``; in development ``<instance>/signing-keys``) as
one PKCS #8 PEM file per key, named by its key id, with ``keys.json`` saying which key signs
and which are retired::

    {"current": "<kid>", "retired": ["<kid>", ...]}

A key id is the key's RFC 7638 JWK thumbprint, so it names the key itself. Rotating adds a key
and makes it current; the earlier keys stay in the JWKS, so what they signed keeps verifying.
Retiring a key removes it from the JWKS: what it signed then fails verification, on purpose.
The web workers and the scheduler reread the directory when ``keys.json`` changes, so a
rotation from the command line reaches a running site.
"""

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import Flask, current_app

MANIFEST = "keys.json"


class SigningKeyError(RuntimeError):
    """The signing keys cannot be used (none, missing file, unknown key id)."""


@dataclass(frozen=True)
class Keyring:
    """The keys of one moment: the one that signs and every one that is published."""

    current_kid: str
    private_keys: dict[str, Ed25519PrivateKey]
    retired: frozenset[str]

    @property
    def signing_key(self) -> Ed25519PrivateKey:
        return self.private_keys[self.current_kid]

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """Return the published key ``kid`` (None when unknown or retired)."""
        if kid in self.retired or kid not in self.private_keys:
            return None
        return self.private_keys[kid].public_key()

    @property
    def published(self) -> list[str]:
        """The key ids in the JWKS: every key that is not retired, the current one first."""
        others = sorted(
            k for k in self.private_keys if k not in self.retired and k != self.current_kid
        )
        return [self.current_kid, *others]

    def jwks(self) -> dict[str, Any]:
        """Return the published public keys as a JSON Web Key Set."""
        return {"keys": [public_jwk(self.private_keys[kid].public_key()) for kid in self.published]}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """Return ``key`` as a public JWK with its thumbprint as ``kid``."""
    x = _b64(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": x,
        "kid": thumbprint(x),
        "alg": "EdDSA",
        "use": "sig",
    }


def thumbprint(x: str) -> str:
    """Return the RFC 7638 thumbprint of an Ed25519 public key given as its ``x``."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    return _b64(hashlib.sha256(canonical.encode()).digest())


def keys_dir(app: Flask) -> Path:
    """Return the directory of the signing keys."""
    configured = app.config.get("SIGNING_KEYS_DIR")
    return Path(configured) if configured else Path(app.instance_path) / "signing-keys"


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.exists():
        return {"current": None, "retired": []}
    return json.loads(path.read_text(encoding="utf-8"))


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Replace the manifest atomically (readers never see half a file)."""
    temporary = folder / f".{MANIFEST}.{os.getpid()}"
    temporary.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, folder / MANIFEST)


def load_keyring(folder: Path) -> Keyring:
    """Read the keys in ``folder``; raise ``SigningKeyError`` when no key can sign."""
    manifest = _read_manifest(folder)
    current = manifest.get("current")
    if not current:
        raise SigningKeyError(
            f"No signing key in {folder}: run `mediator-registry keys rotate` to create one."
        )
    keys = {}
    for path in sorted(folder.glob("*.pem")):
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{path} is not an Ed25519 private key.")
        keys[public_jwk(key.public_key())["kid"]] = key
    if current not in keys:
        raise SigningKeyError(f"The current signing key {current} is not in {folder}.")
    return Keyring(current, keys, frozenset(manifest.get("retired", [])))


def keyring() -> Keyring:
    """Return the app's keys, rereading them when the manifest changed (a rotation).

    Outside production a first key is made when there is none (``init`` makes it too); in
    production the keys come from ``SIGNING_KEYS_DIR`` and none is ever made behind the back.
    """
    folder = keys_dir(current_app)
    manifest = folder / MANIFEST
    if not manifest.exists() and current_app.config["REGISTRY_ENV"] != "production":
        ensure_key(folder)
    stamp = manifest.stat().st_mtime_ns if manifest.exists() else None
    cached = current_app.extensions.get("signing_keys")
    if cached is None or cached[0] != (folder, stamp):
        cached = ((folder, stamp), load_keyring(folder))
        current_app.extensions["signing_keys"] = cached
    return cached[1]


def rotate_key(folder: Path) -> str:
    """Create a new Ed25519 key, make it the one that signs, and return its key id."""
    folder.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    kid = public_jwk(key.public_key())["kid"]
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = folder / f"{kid}.pem"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
    manifest = _read_manifest(folder)
    _write_manifest(folder, {**manifest, "current": kid})
    return kid


def retire_key(folder: Path, kid: str) -> None:
    """Stop publishing key ``kid``; what it signed no longer verifies. Never the current one."""
    manifest = _read_manifest(folder)
    if not (folder / f"{kid}.pem").exists():
        raise SigningKeyError(f"There is no key {kid} in {folder}.")
    if manifest.get("current") == kid:
        raise SigningKeyError(f"{kid} signs new credentials: rotate first, then retire it.")
    retired = sorted({*manifest.get("retired", []), kid})
    _write_manifest(folder, {**manifest, "retired": retired})


def ensure_key(folder: Path) -> str | None:
    """Create a first key when ``folder`` has none; return its key id (None if one exists)."""
    if _read_manifest(folder).get("current"):
        return None
    return rotate_key(folder)


def signing_key_problem(app: Flask) -> str | None:
    """Return why ``app`` cannot sign credentials (production refuses to start), or None."""
    folder = keys_dir(app)
    try:
        if app.config["REGISTRY_ENV"] != "production":
            ensure_key(folder)
        load_keyring(folder)
    except SigningKeyError as error:
        return f"{error} (SIGNING_KEYS_DIR is {folder})"
    return None
