"""Install the pinned cfn-guard 3.1.1 binary, verified by sha256.

cfn-guard is a Rust program. The npm package ``@cdklabs/cdk-validator-cfnguard``
ships its Linux and macOS builds under ``bin/``; this fetches that package's
tarball straight from the npm registry (no Node needed), checks the tarball's
and the binary's sha256 against the pins below and installs the binary to
the project's tools directory (see ``blueprint.tools.project_tools_dir``).

    python -m blueprint.install_guard [--dest DIR] [--force]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

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


def install(dest: Path, *, force: bool = False) -> Path:
    target = dest / "bin" / "cfn-guard"
    key = _platform_key()
    if target.is_file() and not force and _sha256(target.read_bytes()) == BINARY_SHA256[key]:
        return target
    with urllib.request.urlopen(TARBALL_URL, timeout=60) as response:
        tarball = response.read()
    if _sha256(tarball) != TARBALL_SHA256:
        raise InstallError(f"checksum mismatch for {TARBALL_URL}: refusing to install")
    member = f"package/bin/{key[0]}/{key[1]}/cfn-guard"
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
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
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m blueprint.install_guard",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dest", type=Path, default=project_tools_dir(),
                        help="tools directory (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="reinstall even if present")
    args = parser.parse_args(argv)
    try:
        target = install(args.dest, force=args.force)
    except (InstallError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    version = run_tool([str(target), "--version"]).stdout.strip()
    print(f"installed {version} at {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
