"""A content-addressed, per-user cache of check results.

The key is a SHA-256 over everything a result depends on (a file's bytes
and, for a blueprint, the texts rendered from it; rule bytes, tool versions,
blueprint version, region), so an entry can never be stale: changed input
means a different key, and a hit proves that these very texts were checked.
The cache is an optimisation only, and it is never trusted blindly:

* each entry stores a SHA-256 of its own payload and its own key; an entry
  that is unreadable, truncated, not JSON, of another format, filed under the
  wrong key or whose checksum does not match is ignored (and removed), and
  the caller recomputes;
* writes go to a temporary file in the cache folder and are moved into place
  with ``os.replace``, so a concurrent reader sees the old entry, the new
  entry or nothing, never half of one;
* a folder that cannot be created or written (read-only, full disk, a path
  under a regular file...) only disables caching; it is never an error.

Pure standard library; safe to share between concurrent processes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ENTRY_FORMAT = "blueprint-result-cache/1"
KEY_DOMAIN = b"blueprint-result-cache-key/1\x00"
MAX_ENTRY_BYTES = 64 * 1024 * 1024  # far above any real result; bounds a hostile entry
_KEY = re.compile(r"^[0-9a-f]{64}$")
_ENTRY_SUFFIX = ".json"
_TEMP_PREFIX = ".tmp-"


def default_directory() -> Path:
    """$BLUEPRINT_CACHE_DIR, else $XDG_CACHE_HOME/blueprint/results, else ~/.cache/..."""
    from blueprint.resources import user_cache_dir

    return user_cache_dir("BLUEPRINT_CACHE_DIR", "results")


def _as_bytes(part: bytes | str) -> bytes:
    if isinstance(part, bytes):
        return part
    if isinstance(part, str):
        return part.encode("utf-8", "surrogatepass")
    raise TypeError(f"cache key parts must be bytes or str, not {type(part).__name__}")


def _digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


class ResultCache:
    """JSON values filed by content hash in one folder (one file per entry)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_directory()

    # ------------------------------------------------------------------ keys

    @staticmethod
    def key(*parts: bytes | str) -> str:
        """SHA-256 (hex) over the parts, each prefixed with its length.

        Length prefixes make the encoding unambiguous: ``key("ab", "c")`` and
        ``key("a", "bc")`` differ. A ``str`` is hashed as its UTF-8 bytes.
        """
        digest = hashlib.sha256(KEY_DOMAIN)
        digest.update(len(parts).to_bytes(8, "big"))
        for part in parts:
            data = _as_bytes(part)
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
        return digest.hexdigest()

    def path_for(self, key: str) -> Path:
        if not isinstance(key, str) or not _KEY.match(key):
            raise ValueError(f"not a cache key (64 lowercase hex digits): {key!r}")
        return self.directory / key[:2] / f"{key}{_ENTRY_SUFFIX}"

    # ----------------------------------------------------------------- read

    def get(self, key: str) -> Any | None:
        """The value stored under ``key``, or None when absent or not trustworthy."""
        path = self.path_for(key)
        try:
            with path.open("rb") as handle:
                identity = os.fstat(handle.fileno())
                raw = handle.read(MAX_ENTRY_BYTES + 1)
        except OSError:
            return None  # absent, unreadable, or the folder is unusable: a miss
        value = self._decode(key, raw)
        if value is _INVALID:
            self._discard(path, identity)
            return None
        return value

    @staticmethod
    def _decode(key: str, raw: bytes) -> Any:
        if len(raw) > MAX_ENTRY_BYTES:
            return _INVALID
        try:
            entry = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return _INVALID
        if not isinstance(entry, dict) or set(entry) != {"format", "key", "sha256", "payload"}:
            return _INVALID
        payload = entry["payload"]
        if entry["format"] != ENTRY_FORMAT or entry["key"] != key \
                or not isinstance(payload, str) or not isinstance(entry["sha256"], str):
            return _INVALID
        try:
            payload_bytes = payload.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate smuggled in through \udxxx
            return _INVALID
        if _digest(payload_bytes) != entry["sha256"]:
            return _INVALID
        try:
            return json.loads(payload)
        except (ValueError, RecursionError):
            return _INVALID

    @staticmethod
    def _discard(path: Path, identity: os.stat_result) -> None:
        """Remove a bad entry, unless a writer has replaced it meanwhile."""
        with contextlib.suppress(OSError):
            current = path.stat()
            if (current.st_dev, current.st_ino) == (identity.st_dev, identity.st_ino):
                path.unlink()

    # ---------------------------------------------------------------- write

    def put(self, key: str, value: Any) -> bool:
        """Store ``value`` (any JSON value) under ``key``; False if it could not be cached.

        Raises ``TypeError``/``ValueError`` only for a value that has no JSON
        form (a caller bug); every file-system problem just returns False.
        """
        path = self.path_for(key)
        payload = json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False,
                             separators=(",", ":"))
        payload_bytes = payload.encode("utf-8")  # a lone surrogate raises here, early
        entry = json.dumps({"format": ENTRY_FORMAT, "key": key,
                            "sha256": _digest(payload_bytes), "payload": payload},
                           ensure_ascii=True, separators=(",", ":")).encode("ascii")
        if len(entry) > MAX_ENTRY_BYTES:
            return False
        temp_name: str | None = None
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, temp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=".part",
                                             dir=path.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(entry)
            Path(temp_name).replace(path)
            temp_name = None
        except OSError:
            return False
        finally:
            if temp_name is not None:
                with contextlib.suppress(OSError):
                    Path(temp_name).unlink()
        return True

    def clear(self) -> int:
        """Remove every entry (and stray temporary file); returns how many were removed."""
        removed = 0
        try:
            shards = [p for p in self.directory.iterdir() if p.is_dir() and len(p.name) == 2]
        except OSError:
            return 0
        for shard in shards:
            with contextlib.suppress(OSError):
                for item in shard.iterdir():
                    if item.name.endswith(_ENTRY_SUFFIX) or item.name.startswith(_TEMP_PREFIX):
                        with contextlib.suppress(OSError):
                            item.unlink()
                            removed += 1
        return removed


class _Invalid:
    """Marker for an entry that must not be trusted (None is a valid cached value)."""


_INVALID: Any = _Invalid()


def fingerprint_rules(dirs: Iterable[Path | str]) -> str:
    """SHA-256 (hex) over every rule and policy-data file under ``dirs``.

    Each directory contributes its position, then every file below it (rules
    in ``.guard`` or ``.ruleset`` files, data, catalogs) sorted by relative
    path (POSIX form), each as (relative path, bytes). A missing directory or
    an unreadable file hashes as a distinct marker, so the fingerprint changes
    rather than silently matching an earlier one.
    """
    digest = hashlib.sha256(b"blueprint-rules-fingerprint/1\x00")

    def part(data: bytes) -> None:
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)

    for index, directory in enumerate(dirs):
        root = Path(directory)
        part(f"dir:{index}".encode())
        if not root.is_dir():
            part(b"missing")
            continue
        files = sorted(
            (path.relative_to(root).as_posix(), path)
            for path in root.rglob("*")
            if path.is_file()
        )
        for relative, path in files:
            part(relative.encode("utf-8", "surrogateescape"))
            try:
                content = path.read_bytes()
            except OSError as err:
                part(f"unreadable:{err.errno}".encode())
                continue
            part(b"file")
            part(content)
    return digest.hexdigest()
