#!/usr/bin/env python3
"""Generate the Python protobuf and gRPC stubs from proto/ into the packages.

`proto/legato/**` is generated into `sdk/legato/...` (the SDK needs only the
public API); `proto/legato_server/**` into `server/legato_server/...`.

    python scripts/gen_protos.py          # regenerate in place
    python scripts/gen_protos.py --check  # exit 1 if the checked-in stubs are stale
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
# proto package folder -> where its generated tree lives in the repo
TARGETS = {
    "legato": ROOT / "sdk",
    "legato_server": ROOT / "server",
}


def generate(out_dir: Path) -> None:
    """Run protoc over every .proto file, writing stubs under out_dir."""
    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # Every generated folder must be a package for the absolute imports protoc writes.
    for folder in out_dir.rglob("*"):
        if folder.is_dir():
            (folder / "__init__.py").touch()


def generated_files(tree: Path) -> dict[str, Path]:
    return {str(p.relative_to(tree)): p for p in tree.rglob("*") if p.is_file() and "_pb2" in p.name}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the stubs are out of date")
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        generate(out)
        stale: list[str] = []
        for package, target_root in TARGETS.items():
            fresh = generated_files(out / package)
            current = generated_files(target_root / package)
            for rel, path in fresh.items():
                dest = target_root / package / rel
                if rel not in current or not filecmp.cmp(path, dest, shallow=False):
                    stale.append(str(dest.relative_to(ROOT)))
                    if not opts.check:
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(path, dest)
            for rel in current.keys() - fresh.keys():
                stale.append(str((target_root / package / rel).relative_to(ROOT)))
                if not opts.check:
                    current[rel].unlink()
            # Make sure each generated folder is importable as a package.
            for folder in (out / package).rglob("*"):
                if folder.is_dir() and folder.name != "__pycache__":
                    init = target_root / package / folder.relative_to(out / package) / "__init__.py"
                    if not init.exists():
                        stale.append(str(init.relative_to(ROOT)))
                        if not opts.check:
                            init.parent.mkdir(parents=True, exist_ok=True)
                            init.touch()
    if opts.check and stale:
        print("generated stubs are out of date; run: python scripts/gen_protos.py", file=sys.stderr)
        for name in stale:
            print(f"  {name}", file=sys.stderr)
        return 1
    if not opts.check:
        print(f"{len(stale)} file(s) updated" if stale else "stubs already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
