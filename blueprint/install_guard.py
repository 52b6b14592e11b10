"""Install the pinned cfn-guard 3.1.1 binary and Control Tower rules, verified by sha256.

cfn-guard is a Rust program. The npm package ``@cdklabs/cdk-validator-cfnguard``
ships its Linux and macOS builds under ``bin/``; this fetches that package's
tarball straight from the npm registry (no Node needed), checks the tarball's
and the binary's sha256 against the pins below and installs the binary to
the project's tools directory (see ``blueprint.tools.project_tools_dir``).
The same tarball's AWS Control Tower rules (``validate --pack control-tower``)
go to ``<tools>/rules/control-tower/`` with a ``MANIFEST.sha256`` of what was
extracted, whose digest is pinned in ``blueprint.packs``. What is already
installed and matches its pin is kept, and nothing is downloaded for it.

    python -m blueprint.install_guard [--dest DIR] [--force] [--rules-only]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from blueprint import packs
from blueprint.tools import GUARD_VERSION, project_tools_dir, run_tool

NPM_PACKAGE = "@cdklabs/cdk-validator-cfnguard"
NPM_VERSION = "0.0.62"
TARBALL_URL = (f"https://registry.npmjs.org/{NPM_PACKAGE}/-/"
               f"cdk-validator-cfnguard-{NPM_VERSION}.tgz")
TARBALL_SHA256 = "660c14562d4c79d524d0623d80d494e41797acae9da23ecb10915d7f66ada80c"
BINARY_SHA256 = {
    ("ubuntu", "x86_64"): "9c7a820318676dc7372f6756ddfc7ca5f0c019299fb5505fda6dfd54718c58bd",
    ("ubuntu", "aarch64"): "f596043df77b6e839759e90e3d08671b5384c6e07d4a9c34f6d0bfbc76148154",
    ("macos", "x86_64"): "3e8118e3c4cd98901b3a21b7037a40674023945349ad4661f1a7101f2d96c31f",
    ("macos", "aarch64"): "89e97faaabb5431bc16d0487b5c8e67573e3f84e397b87985bfb02c2bdd4f46a",
}


class InstallError(Exception):
    pass


def _platform_key() -> tuple[str, str]:
    system = {"Linux": "ubuntu", "Darwin": "macos"}.get(platform.system())
    machine = {"x86_64": "x86_64", "amd64": "x86_64", "AMD64": "x86_64",
               "aarch64": "aarch64", "arm64": "aarch64"}.get(platform.machine())
    if system is None or machine is None:
        raise InstallError(f"no pinned cfn-guard build for {platform.system()} "
                           f"{platform.machine()}; install cfn-guard {GUARD_VERSION} yourself "
                           "and set $CFN_GUARD")
    return system, machine


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def install(dest: Path, *, force: bool = False, binary: bool = True) -> Path:
    """Install what is missing or altered; the binary's path (the rules' when not ``binary``)."""
    target = dest / "bin" / "cfn-guard"
    rules = packs.pack_root(packs.CONTROL_TOWER, dest)
    key = _platform_key() if binary else None
    need_binary = key is not None and (
        force or not target.is_file() or _sha256(target.read_bytes()) != BINARY_SHA256[key])
    need_rules = force or not _rules_installed(rules)
    if need_binary or need_rules:
        with tarfile.open(fileobj=io.BytesIO(_download()), mode="r:gz") as archive:
            if need_binary and key is not None:
                _install_binary(archive, key, target)
            if need_rules:
                _install_rules(archive, rules)
    return target if binary else rules


def _download() -> bytes:
    with urllib.request.urlopen(TARBALL_URL, timeout=60) as response:
        tarball: bytes = response.read()
    if _sha256(tarball) != TARBALL_SHA256:
        raise InstallError(f"checksum mismatch for {TARBALL_URL}: refusing to install")
    return tarball


def _install_binary(archive: tarfile.TarFile, key: tuple[str, str], target: Path) -> None:
    member = f"package/bin/{key[0]}/{key[1]}/cfn-guard"
    extracted = archive.extractfile(member)
    if extracted is None:
        raise InstallError(f"{member} missing from {TARBALL_URL}")
    binary = extracted.read()
    if _sha256(binary) != BINARY_SHA256[key]:
        raise InstallError(f"checksum mismatch for {member}: refusing to install")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
        handle.write(binary)
    os.chmod(handle.name, 0o755)
    Path(handle.name).replace(target)  # atomic: a concurrent run never sees half a binary


def _rules_installed(root: Path) -> bool:
    try:
        return packs.manifest_digest(packs.manifest(root)) == packs.CONTROL_TOWER_RULES_SHA256 \
            if root.is_dir() else False
    except OSError:
        return False


def _install_rules(archive: tarfile.TarFile, root: Path) -> None:
    """The pack's files, extracted beside ``root`` and checked, then swapped in whole."""
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    try:
        for member in archive.getmembers():
            if not member.name.startswith(packs.CONTROL_TOWER_IN_TARBALL) or member.isdir():
                continue
            relative = member.name[len(packs.CONTROL_TOWER_IN_TARBALL):]
            parts = relative.split("/")
            extracted = archive.extractfile(member) if member.isfile() else None
            if extracted is None or "" in parts or ".." in parts:
                raise InstallError(f"unexpected entry {member.name} in {TARBALL_URL}")
            path = staging.joinpath(*parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(extracted.read())
        listing = packs.manifest(staging)
        if packs.manifest_digest(listing) != packs.CONTROL_TOWER_RULES_SHA256:
            raise InstallError(f"the Control Tower rules in {TARBALL_URL} are not the pinned "
                               "ones: refusing to install")
        (staging / packs.MANIFEST_NAME).write_text(listing, encoding="utf-8")
        retired = root.with_name(f"{staging.name}-old")
        if root.exists():
            root.rename(retired)
        staging.rename(root)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m blueprint.install_guard",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dest", type=Path, default=project_tools_dir(),
                        help="tools directory (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="reinstall even if present")
    parser.add_argument("--rules-only", action="store_true",
                        help="install only the Control Tower rules (cfn-guard comes from "
                             "elsewhere, e.g. $CFN_GUARD)")
    args = parser.parse_args(argv)
    try:
        target = install(args.dest, force=args.force, binary=not args.rules_only)
    except (InstallError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rules = packs.pack_root(packs.CONTROL_TOWER, args.dest)
    if not args.rules_only:
        version = run_tool([str(target), "--version"]).stdout.strip()
        print(f"installed {version} at {target}")
    print(f"installed the Control Tower rules of {NPM_PACKAGE}@{NPM_VERSION} at {rules}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
