"""Pack directories into an OCI image archive, with nothing but the standard library.

Two steps, so a caller can cache the expensive one:

* ``oci_pack.py layer --dir ROOTFS --output LAYER.tar.gz`` writes one gzipped
  layer tar and, next to it, ``LAYER.tar.gz.json`` with its digest (of the
  compressed bytes), diff id (of the uncompressed tar) and size. The tar is
  reproducible for a given tree: entries sorted, owners numeric, gzip header
  without a timestamp. File modification times are kept: Python checks its
  ``.pyc`` files against them, and the image runs on a read-only root
  filesystem where stale bytecode could not be rewritten.
* ``oci_pack.py image --name REF --layer L1.tar.gz [--layer L2.tar.gz ...]
  --output IMAGE.tar [--entrypoint JSON] [--cmd JSON] [--env K=V] [--user U]
  [--workdir D]`` writes an OCI image layout (``oci-layout``, ``index.json``,
  ``blobs/sha256/...``) as one uncompressed tar, the format ``ctr images
  import``, ``podman load`` and ``skopeo copy oci-archive:`` read. The
  reference is annotated both the OCI way and containerd's way so the import
  names the image ``REF`` without further flags.

Layers are applied in the order given (first = bottom). Whiteouts are not
produced: every layer a caller packs only adds files to the ones below.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import stat
import sys
import tarfile
from pathlib import Path
from typing import IO, Any

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"


class HashingWriter(io.RawIOBase):
    """A write-only stream that hashes and counts what passes through to ``target``."""

    def __init__(self, target: IO[bytes]) -> None:
        super().__init__()
        self.target = target
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.sha256.update(view)
        self.size += len(view)
        self.target.write(view)
        return len(view)


def _tree_entries(root: Path) -> list[Path]:
    """Every path under ``root`` (not ``root`` itself), parents before children, sorted."""
    entries: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        for name in sorted([*dirnames, *filenames]):
            entries.append(base / name)
    return entries


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # Numeric owners only: the names on the build host mean nothing in the image.
    info.uname = ""
    info.gname = ""
    return info


def pack_layer(source: Path, output: Path, *, compresslevel: int = 6) -> dict[str, Any]:
    """Write ``source``'s tree as a gzipped tar at ``output``; return and save its descriptor."""
    if not source.is_dir():
        raise SystemExit(f"oci_pack: layer source {source} is not a directory")
    tmp = output.with_name(output.name + ".tmp")
    with tmp.open("wb") as raw:
        compressed = HashingWriter(raw)
        with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0, compresslevel=compresslevel) as gz:
            plain = HashingWriter(gz)
            with tarfile.open(fileobj=plain, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for path in _tree_entries(source):
                    arcname = path.relative_to(source).as_posix()
                    mode = path.lstat().st_mode
                    if stat.S_ISSOCK(mode):
                        continue  # sockets cannot be archived and mean nothing in an image
                    tar.add(path, arcname=arcname, recursive=False, filter=_normalise)
    descriptor = {
        "mediaType": MEDIA_LAYER,
        "digest": "sha256:" + compressed.sha256.hexdigest(),
        "size": compressed.size,
        "diff_id": "sha256:" + plain.sha256.hexdigest(),
    }
    tmp.replace(output)
    Path(str(output) + ".json").write_text(json.dumps(descriptor, indent=2) + "\n")
    return descriptor


def _load_layer(path: Path) -> dict[str, Any]:
    sidecar = Path(str(path) + ".json")
    if not path.is_file() or not sidecar.is_file():
        raise SystemExit(f"oci_pack: layer {path} or its descriptor {sidecar} is missing; run `layer` first")
    descriptor: dict[str, Any] = json.loads(sidecar.read_text())
    if path.stat().st_size != descriptor["size"]:
        raise SystemExit(f"oci_pack: layer {path} does not match {sidecar} (size); repack it")
    return descriptor


def _json_blob(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def pack_image(
    *,
    name: str,
    layers: list[Path],
    output: Path,
    entrypoint: list[str] | None,
    cmd: list[str] | None,
    env: list[str],
    user: str | None,
    workdir: str | None,
    labels: dict[str, str],
) -> str:
    """Write the OCI archive for ``name``; return the manifest digest."""
    if ":" not in name.rsplit("/", 1)[-1] or "/" not in name:
        raise SystemExit(f"oci_pack: image name {name!r} must be fully qualified with a tag (host/path:tag)")
    descriptors = [_load_layer(layer) for layer in layers]
    image_config: dict[str, Any] = {"Env": env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"]}
    if entrypoint:
        image_config["Entrypoint"] = entrypoint
    if cmd:
        image_config["Cmd"] = cmd
    if user:
        image_config["User"] = user
    if workdir:
        image_config["WorkingDir"] = workdir
    if labels:
        image_config["Labels"] = labels
    config = _json_blob(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "1970-01-01T00:00:00Z",
            "config": image_config,
            "rootfs": {"type": "layers", "diff_ids": [d["diff_id"] for d in descriptors]},
            "history": [{"created_by": f"oci_pack.py layer {layer.name}"} for layer in layers],
        }
    )
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    manifest = _json_blob(
        {
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": {"mediaType": MEDIA_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [
                {"mediaType": d["mediaType"], "digest": d["digest"], "size": d["size"]} for d in descriptors
            ],
        }
    )
    manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    index = _json_blob(
        {
            "schemaVersion": 2,
            "mediaType": MEDIA_INDEX,
            "manifests": [
                {
                    "mediaType": MEDIA_MANIFEST,
                    "digest": manifest_digest,
                    "size": len(manifest),
                    "platform": {"architecture": "amd64", "os": "linux"},
                    "annotations": {
                        "io.containerd.image.name": name,
                        "org.opencontainers.image.ref.name": name,
                    },
                }
            ],
        }
    )
    tmp = output.with_name(output.name + ".tmp")
    with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, "oci-layout", _json_blob({"imageLayoutVersion": "1.0.0"}))
        _add_bytes(tar, "index.json", index)
        _add_bytes(tar, f"blobs/sha256/{manifest_digest[7:]}", manifest)
        _add_bytes(tar, f"blobs/sha256/{config_digest[7:]}", config)
        seen: set[str] = set()
        for layer, descriptor in zip(layers, descriptors, strict=True):
            if descriptor["digest"] in seen:
                continue
            seen.add(descriptor["digest"])
            info = tar.gettarinfo(str(layer), arcname=f"blobs/sha256/{descriptor['digest'][7:]}")
            info.uname = info.gname = ""
            info.uid = info.gid = 0
            info.mtime = 0
            with layer.open("rb") as blob:
                tar.addfile(info, blob)
    tmp.replace(output)
    return manifest_digest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="oci_pack.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    layer = commands.add_parser("layer", help="pack a directory as one gzipped layer")
    layer.add_argument("--dir", type=Path, required=True)
    layer.add_argument("--output", type=Path, required=True)
    layer.add_argument("--compresslevel", type=int, default=6)
    image = commands.add_parser("image", help="write an OCI archive from packed layers")
    image.add_argument("--name", required=True, help="fully qualified reference, e.g. host/path:tag")
    image.add_argument("--layer", type=Path, action="append", required=True, help="bottom first")
    image.add_argument("--output", type=Path, required=True)
    image.add_argument("--entrypoint", type=json.loads, help='JSON list, e.g. \'["/usr/bin/tini", "--"]\'')
    image.add_argument("--cmd", type=json.loads, help="JSON list")
    image.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    image.add_argument("--user")
    image.add_argument("--workdir")
    image.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    if args.command == "layer":
        descriptor = pack_layer(args.dir, args.output, compresslevel=args.compresslevel)
        print(json.dumps(descriptor))
        return 0
    labels = dict(item.split("=", 1) for item in args.label)
    digest = pack_image(
        name=args.name,
        layers=args.layer,
        output=args.output,
        entrypoint=args.entrypoint,
        cmd=args.cmd,
        env=args.env,
        user=args.user,
        workdir=args.workdir,
        labels=labels,
    )
    print(f"{args.name} {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
