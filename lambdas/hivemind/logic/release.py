"""Pack a checkout into a release archive: deterministic, without .git, with its sha256."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

EXCLUDE_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv", ".mypy_cache", ".pytest_cache"}


def pack(src: Path, dest: Path) -> str:
    """Write ``dest`` (tar.gz) from ``src`` and return its sha256.

    Files are added in sorted order with fixed metadata, so the same tree always yields the
    same archive: an unchanged commit produces the same release and a redeploy can reuse it.
    Symlinks are stored as links (never followed).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in _walk(src):
            rel = path.relative_to(src).as_posix()
            info = tar.gettarinfo(str(path), arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            if info.isfile():
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
    import gzip

    data = gzip.compress(buf.getvalue(), mtime=0)
    dest.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _walk(root: Path) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDE_DIRS)
        base = Path(dirpath)
        for d in dirnames:
            if (base / d).is_symlink():
                out.append(base / d)
        out.extend(base / f for f in sorted(filenames))
    return sorted(out)
