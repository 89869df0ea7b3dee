"""The pseudonymisation key: 32 random bytes, created on first use, kept outside git."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pipelines.errors import PipelineError


def load_or_create_key(key_file: Path) -> bytes:
    """Return the key in ``key_file``, creating the file (hex text, mode 600) when absent."""
    key_file = Path(key_file)
    if not key_file.exists():
        key = secrets.token_bytes(32)
        try:
            key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(key.hex() + "\n")
        except OSError as exc:
            raise PipelineError(
                f"Cannot create the pseudonymisation key {key_file}: {exc.strerror}. Choose a "
                "writable place outside git with key_file in config/run.yaml or PIPELINES_KEY_FILE."
            ) from None
        print(
            f"\nCreated a new pseudonymisation key: {key_file}\n"
            "  Keep this file safe and keep it stable: the same key is needed for every "
            "delivery so\n"
            "  that child, family and staff IDs link across runs. Back it up somewhere secure; "
            "never\n"
            "  put it in git or share it with the reports. Losing it means new pseudonyms for "
            "everyone.\n",
            flush=True,
        )
        return key
    try:
        raw = key_file.read_bytes()
    except OSError as exc:
        raise PipelineError(
            f"Cannot read the pseudonymisation key {key_file}: {exc.strerror}. Check the file's "
            "permissions (or set PIPELINES_KEY_FILE to where the key is)."
        ) from None
    text = raw.strip()
    try:
        key = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = raw
    if len(key) < 16:
        raise PipelineError(
            f"The pseudonymisation key {key_file} is too short ({len(key)} bytes; 32 expected). "
            "Restore it from your backup. Only if this is a first run, delete the file and a "
            "new key "
            "will be created (IDs will then not link to earlier deliveries)."
        )
    return key


def hmac_pads(key: bytes) -> tuple[str, str]:
    """Inner and outer HMAC-SHA256 pads of ``key`` as hex (RFC 2104), for the SQL macro."""
    import hashlib

    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\x00")
    ipad = bytes(b ^ 0x36 for b in key)
    opad = bytes(b ^ 0x5C for b in key)
    return ipad.hex(), opad.hex()


def pseudonymise(key: bytes, value: str) -> str:
    """The pseudonym of one normalised ID (Python reference of the SQL macro ``ing_pseudo``)."""
    import hashlib
    import hmac

    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
