from __future__ import annotations

import hashlib
import os


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, or of every file under a folder (sorted by relative path)."""
    h = hashlib.sha256()
    root = os.fspath(path)
    if os.path.isdir(root):
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                h.update(os.path.relpath(full, root).encode())
                with open(full, "rb") as fh:
                    while block := fh.read(chunk):
                        h.update(block)
        return h.hexdigest()
    with open(root, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
