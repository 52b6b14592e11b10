"""``python -m blueprint.install_guard``: the Control Tower rules beside cfn-guard.

Nothing here downloads: tarballs are built from the rules ``scripts/setup`` installed.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
from pathlib import Path

import pytest

from blueprint import install_guard, packs
from blueprint.errors import ToolError


@pytest.fixture(scope="module")
def installed() -> Path:
    root = packs.pack_root(packs.CONTROL_TOWER)
    try:
        packs.rule_pack(packs.CONTROL_TOWER)
    except ToolError as err:
        pytest.fail(f"the Control Tower rules are not installed as pinned ({err}): run "
                    "scripts/setup, or `python -m blueprint.install_guard`")
    return root


@pytest.fixture(scope="module")
def pinned(installed: Path) -> bytes:
    return tarball(installed)


def tarball(root: Path, *, extra: dict[str, bytes] | None = None) -> bytes:
    """An npm-style tarball holding the pack under package/rules/control-tower/."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as archive:
        entries = {path.relative_to(root).as_posix(): path.read_bytes()
                   for path in sorted(root.rglob("*"))
                   if path.is_file() and path.name != packs.MANIFEST_NAME}
        for name, data in {**entries, **(extra or {})}.items():
            info = tarfile.TarInfo(f"{packs.CONTROL_TOWER_IN_TARBALL}{name}"
                                   if not name.startswith("package/") else name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("package/README.md")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"hi"))
    return buffer.getvalue()


def test_rules_are_extracted_with_a_checkable_manifest(pinned: bytes, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(install_guard, "_download", lambda: pinned)
    target = install_guard.install(tmp_path, binary=False)
    assert target == packs.pack_root(packs.CONTROL_TOWER, tmp_path)
    assert not (tmp_path / "bin").exists()
    listing = (target / packs.MANIFEST_NAME).read_text(encoding="utf-8")
    assert len(listing.splitlines()) == 474
    for line in listing.splitlines():  # `sha256sum -c MANIFEST.sha256` format
        digest, relative = line.split("  ", 1)
        assert hashlib.sha256((target / relative).read_bytes()).hexdigest() == digest
    assert packs.manifest_digest(listing) == packs.CONTROL_TOWER_RULES_SHA256
    packs.rule_pack(packs.CONTROL_TOWER, tmp_path)
    assert sorted(p.name for p in target.parent.iterdir()) == [packs.CONTROL_TOWER]


def test_altered_rules_are_replaced_and_intact_ones_kept(installed: Path, pinned: bytes,
                                                         tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    target = packs.pack_root(packs.CONTROL_TOWER, tmp_path)
    shutil.copytree(installed, target)
    monkeypatch.setattr(install_guard, "_download", lambda: pytest.fail("downloaded"))
    install_guard.install(tmp_path, binary=False)  # intact: nothing to fetch
    (target / "cfn-guard" / "ec2" / "ct-ec2-pr-15.guard").write_text("rule x { }\n",
                                                                     encoding="utf-8")
    monkeypatch.setattr(install_guard, "_download", lambda: pinned)
    install_guard.install(tmp_path, binary=False)
    packs.rule_pack(packs.CONTROL_TOWER, tmp_path)


def test_rules_that_are_not_the_pinned_ones_are_refused(installed: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    odd = tarball(installed, extra={"cfn-guard/ec2/mine.guard": b"rule mine { }\n"})
    monkeypatch.setattr(install_guard, "_download", lambda: odd)
    with pytest.raises(install_guard.InstallError, match="not the pinned ones"):
        install_guard.install(tmp_path, binary=False)
    assert list((tmp_path / "rules").iterdir()) == []  # nothing half-installed


def test_an_entry_escaping_the_pack_is_refused(installed: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    odd = tarball(installed, extra={"package/rules/control-tower/../../x": b"x"})
    monkeypatch.setattr(install_guard, "_download", lambda: odd)
    with pytest.raises(install_guard.InstallError, match="unexpected entry"):
        install_guard.install(tmp_path, binary=False)
    assert not (tmp_path / "x").exists()


def test_nothing_is_downloaded_when_binary_and_rules_are_in_place(
        installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = installed.parents[1] / "bin" / "cfn-guard"
    if not binary.is_file():
        pytest.skip("cfn-guard comes from $CFN_GUARD or PATH here, not the tools directory")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "cfn-guard").symlink_to(binary)
    shutil.copytree(installed, packs.pack_root(packs.CONTROL_TOWER, tmp_path))
    monkeypatch.setattr(install_guard, "_download", lambda: pytest.fail("downloaded"))
    assert install_guard.install(tmp_path) == tmp_path / "bin" / "cfn-guard"
