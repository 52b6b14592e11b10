"""The result cache: round trip, never trusts a bad entry, never crashes, atomic."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from pathlib import Path
from typing import Any

import pytest

import blueprint.cache as cache_module
from blueprint.cache import (
    ENTRY_FORMAT,
    ResultCache,
    default_directory,
    fingerprint_rules,
)
from blueprint.resources import rules_dir

REPO_ROOT = Path(__file__).resolve().parents[1]



VALUE: dict[str, Any] = {
    "findings": [{"rule": "IMDSV2", "line": 3, "message": "ünïcode ✓", "ratio": 0.5}],
    "ok": False,
    "none": None,
}


@pytest.fixture
def cache(tmp_path: Path) -> ResultCache:
    return ResultCache(tmp_path / "cache")


def test_roundtrip(cache: ResultCache) -> None:
    key = cache.key(b"template", "rules", "3.1.1")
    assert cache.get(key) is None
    assert cache.put(key, VALUE) is True
    assert cache.get(key) == VALUE
    assert ResultCache(cache.directory).get(key) == VALUE  # another instance, same folder
    assert cache.put(key, [1, 2]) is True  # overwrite
    assert cache.get(key) == [1, 2]


@pytest.mark.parametrize("value", [[], {}, 0, "", "text", [None], 1.5, True])
def test_roundtrip_any_json_value(cache: ResultCache, value: Any) -> None:
    key = cache.key(repr(value))
    cache.put(key, value)
    assert cache.get(key) == value


def test_key_is_length_prefixed_and_stable() -> None:
    key = ResultCache.key
    assert key("ab", "c") != key("a", "bc")
    assert key("a") != key("a", "")
    assert key() != key("")
    assert key("é") == key("é".encode())
    assert key(b"x", "y") == key(b"x", "y")
    assert len(key("x")) == 64
    assert set(key("x")) <= set("0123456789abcdef")


def test_bad_key_and_unserialisable_value_are_caller_errors(cache: ResultCache) -> None:
    with pytest.raises(ValueError, match="not a cache key"):
        cache.get("../../etc/passwd")
    with pytest.raises(ValueError):
        cache.put("A" * 64, 1)
    with pytest.raises(TypeError):
        cache.put(cache.key("x"), {"a": object()})
    with pytest.raises(ValueError):
        cache.put(cache.key("x"), float("nan"))


def test_default_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BLUEPRINT_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_directory() == tmp_path / "explicit"
    assert ResultCache().directory == tmp_path / "explicit"
    monkeypatch.delenv("BLUEPRINT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_directory() == tmp_path / "xdg" / "blueprint" / "results"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_directory() == Path.home() / ".cache" / "blueprint" / "results"


def _entry_bytes(cache: ResultCache, key: str) -> bytes:
    return cache.path_for(key).read_bytes()


def _forged(key: str, payload: str, checksum: str, fmt: str = ENTRY_FORMAT) -> bytes:
    return json.dumps({"format": fmt, "key": key, "sha256": checksum,
                       "payload": payload}).encode()


@pytest.mark.parametrize("corrupt", [
    "garbage", "empty", "truncated", "wrong-checksum", "wrong-key", "wrong-format",
    "extra-field", "not-an-object", "payload-not-json", "non-utf8", "flipped-byte",
])
def test_corrupt_entry_is_a_miss_and_removed(cache: ResultCache, corrupt: str) -> None:
    key = cache.key("corrupt", corrupt)
    assert cache.put(key, VALUE)
    good = _entry_bytes(cache, key)
    entry = json.loads(good)
    other = cache.key("other")
    bad = {
        "garbage": os.urandom(300),
        "empty": b"",
        "truncated": good[: len(good) // 2],
        # valid JSON, right key and format, a payload that was tampered with
        "wrong-checksum": _forged(key, json.dumps({"ok": True}), entry["sha256"]),
        # a consistent entry copied from another key
        "wrong-key": good.replace(key.encode(), other.encode()),
        "wrong-format": _forged(key, entry["payload"], entry["sha256"], "other/9"),
        "extra-field": json.dumps({**entry, "x": 1}).encode(),
        "not-an-object": b"[1, 2, 3]",
        "payload-not-json": _forged(key, "{", ResultCache.key("irrelevant")),
        "non-utf8": b"\xff\xfe" + good,
        "flipped-byte": good[:40] + bytes([good[40] ^ 0x01]) + good[41:],
    }[corrupt]
    cache.path_for(key).write_bytes(bad)
    assert cache.get(key) is None
    assert not cache.path_for(key).exists(), "an untrustworthy entry is removed"
    # the caller recomputes and stores again
    assert cache.put(key, VALUE)
    assert cache.get(key) == VALUE


def test_payload_checksum_mismatch_with_valid_json_payload(cache: ResultCache) -> None:
    """A payload edited to other valid JSON (checksum left as is) is never returned."""
    key = cache.key("edited")
    cache.put(key, {"status": "FAIL"})
    entry = json.loads(_entry_bytes(cache, key))
    entry["payload"] = entry["payload"].replace("FAIL", "PASS")
    cache.path_for(key).write_text(json.dumps(entry))
    assert cache.get(key) is None


def test_oversized_entry_is_a_miss(cache: ResultCache, monkeypatch: pytest.MonkeyPatch) -> None:
    key = cache.key("big")
    assert cache.put(key, "x" * 1000)
    monkeypatch.setattr(cache_module, "MAX_ENTRY_BYTES", 100)
    assert cache.get(key) is None
    assert cache.put(key, "x" * 1000) is False


def test_unwritable_directory_does_not_crash(tmp_path: Path) -> None:
    # Tests may run as root, where chmod does not stop writes: a folder under a
    # regular file can never be created, by anyone.
    blocker = tmp_path / "afile"
    blocker.write_text("not a directory")
    cache = ResultCache(blocker / "sub")
    key = cache.key("x")
    assert cache.put(key, VALUE) is False
    assert cache.get(key) is None
    assert cache.clear() == 0
    assert blocker.read_text() == "not a directory"


def test_read_only_directory_does_not_crash(tmp_path: Path) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    directory.chmod(0o500)
    try:
        cache = ResultCache(directory)
        key = cache.key("x")
        stored = cache.put(key, VALUE)  # True as root, False otherwise; never raises
        assert cache.get(key) == (VALUE if stored else None)
    finally:
        directory.chmod(0o700)


def test_failed_write_leaves_no_temporary_file(cache: ResultCache,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    key = cache.key("x")

    def refuse(self: Path, target: Path) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", refuse)
    assert cache.put(key, VALUE) is False
    monkeypatch.undo()
    assert list(cache.path_for(key).parent.iterdir()) == []
    assert cache.get(key) is None


def test_clear(cache: ResultCache) -> None:
    keys = [cache.key(str(i)) for i in range(5)]
    for key in keys:
        cache.put(key, 1)
    assert cache.clear() == 5
    assert all(cache.get(key) is None for key in keys)


# ------------------------------------------------------------------ concurrency

BIG = 20_000  # large entries make a torn write likely if writes were not atomic


def _value(writer: int, round_: int) -> dict[str, Any]:
    return {"writer": writer, "round": round_, "data": [writer] * BIG}


def _valid(value: Any) -> bool:
    return (isinstance(value, dict) and set(value) == {"writer", "round", "data"}
            and value["data"] == [value["writer"]] * BIG)


def _hammer(directory: str, key: str, writer: int, rounds: int) -> int:
    """Write and read back ``rounds`` times; returns how many bad reads were seen."""
    cache = ResultCache(Path(directory))
    bad = 0
    for round_ in range(rounds):
        cache.put(key, _value(writer, round_))
        seen = cache.get(key)
        if seen is not None and not _valid(seen):
            bad += 1
    return bad


def test_concurrent_processes_never_see_a_partial_entry(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "cache")
    key = cache.key("shared")
    context = multiprocessing.get_context("spawn" if os.name == "nt" else "fork")
    with context.Pool(4) as pool:
        results = pool.starmap(_hammer, [(str(cache.directory), key, w, 40) for w in range(8)])
    assert results == [0] * 8
    final = cache.get(key)
    assert _valid(final)
    leftovers = [p.name for p in cache.path_for(key).parent.iterdir()
                 if p.name != cache.path_for(key).name]
    assert leftovers == [], "no temporary files are left behind"


def test_concurrent_threads_readers_never_see_a_partial_entry(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "cache")
    key = cache.key("threads")
    stop = threading.Event()
    bad: list[Any] = []
    hits = [0]

    def reader() -> None:
        while not stop.is_set():
            seen = cache.get(key)
            if seen is not None:
                hits[0] += 1
                if not _valid(seen):
                    bad.append(seen)

    def writer(number: int) -> None:
        for round_ in range(30):
            assert cache.put(key, _value(number, round_))

    readers = [threading.Thread(target=reader) for _ in range(3)]
    writers = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in readers:
        thread.join()
    assert bad == []
    assert hits[0] > 0
    assert _valid(cache.get(key))


# ------------------------------------------------------------------ fingerprint


def _rules(root: Path) -> Path:
    (root / "data").mkdir(parents=True)
    (root / "a.guard").write_text("rule a { true }\n")
    (root / "b.guard").write_text("rule b { true }\n")
    (root / "data" / "list.yaml").write_text("X: [1]\n")
    (root / "README.md").write_text("ignored\n")
    return root


def test_fingerprint_rules(tmp_path: Path) -> None:
    rules = _rules(tmp_path / "rules")
    first = fingerprint_rules([rules])
    assert first == fingerprint_rules([str(rules)])
    assert first == fingerprint_rules([_rules(tmp_path / "copy")]), "content, not location"
    (rules / "README.md").write_text("changed\n")
    assert fingerprint_rules([rules]) != first, (
        "every file counts: cfn-guard also loads .ruleset files and subfolders")
    (rules / "README.md").write_text("ignored\n")
    assert fingerprint_rules([rules]) == first
    (rules / "data" / "list.yaml").write_text("X: [2]\n")
    second = fingerprint_rules([rules])
    assert second != first
    (rules / "c.guard").write_text("")
    third = fingerprint_rules([rules])
    assert third != second, "an added (even empty) rule file counts"
    (rules / "c.guard").rename(rules / "d.guard")
    assert fingerprint_rules([rules]) != third, "a renamed rule file counts"
    assert fingerprint_rules([rules, tmp_path / "nope"]) != fingerprint_rules([rules])
    assert fingerprint_rules([]) != fingerprint_rules([tmp_path / "nope"])


def test_fingerprint_rules_order_of_directories_counts(tmp_path: Path) -> None:
    one = _rules(tmp_path / "one")
    two = tmp_path / "two"
    two.mkdir()
    (two / "z.guard").write_text("rule z { true }\n")
    assert fingerprint_rules([one, two]) != fingerprint_rules([two, one])


def test_fingerprint_of_shipped_rules_is_stable() -> None:
    assert fingerprint_rules([rules_dir()]) == fingerprint_rules([rules_dir()])
