"""The pseudonymisation key: 32 random bytes kept as 64 hex characters, created on first use,
kept outside git, readable by its owner only, and checked against the warehouse it built.

The check is by fingerprint, never by the key: ``HMAC-SHA256(key, "pipelines key fingerprint")``,
first 16 hex characters, recorded in the warehouse's ``warehouse_info`` table. A fingerprint
tells two keys apart but gives nothing towards the key or a pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from pathlib import Path

from pipelines.errors import PipelineError

KEY_HEX_CHARS = 64
_HEX = re.compile(rb"[0-9a-fA-F]{64}")
_FINGERPRINT_LABEL = b"pipelines key fingerprint"
_WAREHOUSE_INFO_SQL = Path(__file__).resolve().parent / "sql" / "warehouse_info.sql"
_NEW_KEY_HINT = (
    "Only to replace the key on purpose (every child, family and staff pseudonym changes and "
    "nothing links to earlier deliveries), run again with --new-key."
)


def fingerprint(key: bytes) -> str:
    """A short, one-way label of ``key`` (see the module docstring)."""
    return hmac.new(key, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]


def _owner_only(key_file: Path) -> None:
    """Key 600 and a ``.secrets`` folder 700: tighten, never loosen (best effort)."""
    for path, mode, applies in [
        (key_file, 0o600, True),
        (key_file.parent, 0o700, key_file.parent.name == ".secrets"),
    ]:
        try:
            if applies and stat.S_IMODE(path.stat().st_mode) & 0o077:
                path.chmod(mode)
        except OSError:
            pass  # not ours to change (e.g. another owner): reading still works


def read_key(key_file: Path, source: str = "") -> bytes:
    """The key in ``key_file``: exactly 64 hex characters (surrounding white space ignored).

    Anything else is an error, never used as it is: a damaged key would give every child a new
    pseudonym without a word. The message never shows the file's content.
    """
    key_file = Path(key_file)
    try:
        raw = key_file.read_bytes()
    except OSError as exc:
        raise PipelineError(
            f"Cannot read the pseudonymisation key {key_file}: {exc.strerror}. Check the file's "
            "permissions (or set PIPELINES_KEY_FILE to where the key is)."
        ) from None
    text = raw.strip()
    if not _HEX.fullmatch(text):
        what = (
            "it is empty"
            if not text
            else f"it holds {len(text)} characters"
            + (
                ""
                if re.fullmatch(rb"[0-9a-fA-F]*", text)
                else ", not all of them hexadecimal digits"
            )
        )
        where = f"{key_file}" + (f" ({source})" if source else "")
        raise PipelineError(
            f"The pseudonymisation key {where} is damaged: a key is {KEY_HEX_CHARS} "
            f"hexadecimal characters (0-9, a-f) on one line, and {what}. The run stopped before "
            "building anything; nothing was changed.\n"
            "  What to do: restore the key file from your backup (or set PIPELINES_KEY_FILE to "
            "where the right key is). Only to start again with a new key on purpose (every "
            "pseudonym changes), move this file away and run again with --new-key."
        )
    _owner_only(key_file)
    return bytes.fromhex(text.decode("ascii"))


def create_key(key_file: Path) -> bytes:
    """Write a new random key to ``key_file`` (hex text, mode 600, its folder 700); never
    overwrites a file."""
    key_file = Path(key_file)
    key = secrets.token_bytes(32)
    try:
        key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key.hex() + "\n")
    except OSError as exc:
        raise PipelineError(
            f"Cannot create the pseudonymisation key {key_file}: {exc.strerror}. Choose a "
            "writable place outside git with key_file in config/run.yaml or PIPELINES_KEY_FILE."
        ) from None
    _owner_only(key_file)
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


def load_or_create_key(key_file: Path) -> bytes:
    """Return the key in ``key_file``, creating the file when absent (``ingest`` on its own;
    a run checks the key against its warehouse first with ``check_key``)."""
    key_file = Path(key_file)
    if key_file.exists():
        return read_key(key_file)
    return create_key(key_file)


def is_warehouse(db_path: Path) -> bool:
    """A DuckDB database file is at ``db_path`` (its header's magic bytes, at offset 8, say so;
    a damaged warehouse keeps them). Any other file there is not a warehouse built with a key:
    it is replaced like one, but does not make a missing key an error."""
    if not db_path.is_file():
        return False
    try:
        with open(db_path, "rb") as fh:
            return fh.read(12)[8:12] == b"DUCK"
    except OSError:
        return True  # cannot tell: treat it as a warehouse, the safe side for the key check


def read_fingerprint(db_path: Path) -> tuple[str | None, str | None]:
    """The key fingerprint recorded in the warehouse ``db_path``, and why it could not be read.

    ``(fingerprint, None)``; ``(None, None)`` for a warehouse built before fingerprints were
    recorded; ``(None, reason)`` for a file DuckDB cannot open (damaged, not a warehouse). A
    warehouse held open by another program is an error: its key cannot be checked.
    """
    import duckdb

    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise PipelineError(
                f"The warehouse {db_path} is open in another program (DuckDB holds a lock on "
                "it), so the key it was built with cannot be checked and it could not be "
                "replaced safely. Close that program (a notebook, DBeaver, a Python session) "
                "and run again. Nothing was changed."
            ) from None
        return None, type(exc).__name__
    try:
        has = con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'main' AND table_name = 'warehouse_info'"
        ).fetchone()
        if not has or not has[0]:
            return None, None
        row = con.execute("SELECT key_fingerprint FROM warehouse_info LIMIT 1").fetchone()
        return (str(row[0]) if row and row[0] else None), None
    except duckdb.Error as exc:
        return None, type(exc).__name__
    finally:
        con.close()


def record_fingerprint(con: object, key: bytes, run_id: str) -> None:
    """Create ``warehouse_info`` in the warehouse being built and record the key's fingerprint."""
    con.execute(_WAREHOUSE_INFO_SQL.read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    con.execute(  # type: ignore[attr-defined]
        "INSERT INTO warehouse_info VALUES (?, ?, current_timestamp::TIMESTAMP)",
        [fingerprint(key), run_id],
    )


def check_key(
    key_file: Path, db_path: Path, *, new_key: bool = False, source: str = ""
) -> bytes | None:
    """The key for this run, checked against the warehouse at ``db_path`` when there is one.

    Returns the key, or ``None`` when it is to be created (no key file and no warehouse: a
    first run, or ``new_key``); ``ingest`` then creates it once the extracts have been checked.
    Raises ``PipelineError``, before anything is built, when the key file is missing while a
    warehouse exists, or its fingerprint differs from the one that built the warehouse, unless
    ``new_key``. A warehouse from before fingerprints were recorded is accepted with a note.
    """
    key_file, db_path = Path(key_file), Path(db_path)
    where = f"{key_file}" + (f" ({source})" if source else "")
    try:
        key_exists = key_file.exists()
        warehouse = is_warehouse(db_path)
    except OSError as exc:
        raise PipelineError(
            f"Cannot look for the pseudonymisation key {where}: {exc.strerror}."
        ) from None
    if not key_exists:
        if warehouse and not new_key:
            raise PipelineError(
                f"The pseudonymisation key {where} does not exist, but the warehouse {db_path} "
                "was built with a key. A new key would give every child, family and staff "
                "member a new pseudonym, and nothing would link to earlier deliveries, so the "
                "run stopped before building anything; nothing was changed.\n"
                f"  What to do: restore the key file from your backup to {key_file}, or set "
                f"PIPELINES_KEY_FILE to where the key is kept. {_NEW_KEY_HINT}"
            )
        if warehouse:
            print(
                f"--new-key: no key at {key_file}; a new one is created and every pseudonym "
                "in the new warehouse changes.",
                flush=True,
            )
        return None
    key = read_key(key_file, source)
    if not warehouse:
        return key
    recorded, problem = read_fingerprint(db_path)
    now = fingerprint(key)
    if recorded and recorded != now:
        if new_key:
            print(
                f"--new-key: the key {key_file} (fingerprint {now}) replaces the one that built "
                f"{db_path} (fingerprint {recorded}); every pseudonym changes from this run on.",
                flush=True,
            )
            return key
        raise PipelineError(
            f"The pseudonymisation key {where} is not the key that built the warehouse "
            f"{db_path}: its fingerprint is {now}, the warehouse's is {recorded}. With it every "
            "child, family and staff member would get a new pseudonym and nothing would link "
            "to earlier deliveries, so the run stopped before building anything; nothing was "
            "changed.\n"
            f"  What to do: restore the key that built the warehouse (from your backup) to "
            f"{key_file}, or set PIPELINES_KEY_FILE to where it is kept. {_NEW_KEY_HINT}"
        )
    if problem:
        print(
            f"Note: the existing warehouse {db_path} cannot be opened ({problem}: damaged, or "
            "not a DuckDB file), so the key could not be checked against it. It is replaced "
            "only if this run succeeds.",
            flush=True,
        )
    elif not recorded:
        print(
            f"Note: the warehouse {db_path} was built before key fingerprints were recorded, so "
            "the key could not be checked against it; the new warehouse records it.",
            flush=True,
        )
    return key


def hmac_pads(key: bytes) -> tuple[str, str]:
    """Inner and outer HMAC-SHA256 pads of ``key`` as hex (RFC 2104), for the SQL macro."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\x00")
    ipad = bytes(b ^ 0x36 for b in key)
    opad = bytes(b ^ 0x5C for b in key)
    return ipad.hex(), opad.hex()


def pseudonymise(key: bytes, value: str) -> str:
    """The pseudonym of one normalised ID (Python reference of the SQL macro ``ing_pseudo``)."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
