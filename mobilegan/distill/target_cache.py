"""The teacher's whole-image targets, cached on disk and memory-mapped, resumable.

Layout of a cache folder (``<run>/target_cache/`` unless ``--target-cache`` names another)::

    manifest.json   what the cache holds: format version, photos (relative paths), side, views, seed,
                    and a fingerprint of the teacher's weights; any difference starts a new cache
    photos.u8       (N, 3, side, side) uint8: each photo resized to ``side``
    targets.u8      (N, V, 3, side, side) uint8: the teacher's output on each view (views.py)
    status.u8       (N,) one byte per photo: 0 pending, 1 done, 2 unreadable

The big files are allocated in full up front (``posix_fallocate``: a disk too small fails at once
with one clear error, not with a bus error hours later), filled in chunks of photos, and flushed
before a photo's status byte says it is done, so an interrupted build (Ctrl-C, a killed job, a
preempted GPU) resumes where it stopped. Memory stays at a chunk while building and at the pages
the operating system keeps while training: 100,000 photos at 256 px with 2 views take 59 GB of
disk and no more RAM than 1,000 do.

Under ``torchrun`` every rank computes its share of the chunks into the same files (one machine,
one folder) and waits for the others; then all read them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mobilegan.data.decode import ImageDecodeError, load_image_rgb
from mobilegan.data.transforms import AugmentConfig, eval_view
from mobilegan.distill.views import make_view, to_uint8, to_unit, view_count
from mobilegan.errors import DataError
from mobilegan.utils.atomic import atomic_write_text
from mobilegan.utils.progress import progress_bar

log = logging.getLogger(__name__)

CACHE_VERSION = 1
MANIFEST = "manifest.json"
PENDING, DONE, UNREADABLE = 0, 1, 2
CHUNK_PHOTOS = 8  # photos decoded, translated and flushed together
TEACHER_BATCH = 4


@dataclass(frozen=True)
class CacheSpec:
    """What a cache holds; two runs share a cache only when their specs are equal."""

    version: int
    photos: tuple[str, ...]
    side: int
    views: int
    seed: int
    teacher: str  # fingerprint of the teacher's weights and settings

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "photos": list(self.photos)}, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> CacheSpec | None:
        try:
            d = json.loads(text)
            return cls(version=int(d["version"]), photos=tuple(d["photos"]), side=int(d["side"]),
                       views=int(d["views"]), seed=int(d["seed"]), teacher=str(d["teacher"]))
        except (ValueError, KeyError, TypeError):
            return None


def teacher_fingerprint(teacher: nn.Module, extra: str = "") -> str:
    """SHA-256 over the teacher's tensors and buffers (any checkpoint format gives the same answer)."""
    h = hashlib.sha256(extra.encode())
    for name, tensor in teacher.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:32]


def _relative(files: Sequence[Path]) -> tuple[str, ...]:
    """Photo names as the manifest stores them: relative to their common folder (movable caches)."""
    if not files:
        return ()
    root = Path(os.path.commonpath([str(Path(f).resolve().parent) for f in files]))
    return tuple(str(Path(f).resolve().relative_to(root)) for f in files)


class TargetCache:
    """A cache folder; :meth:`build` fills it, :meth:`photo` / :meth:`target` read it."""

    def __init__(self, folder: Path, files: Sequence[Path], *, side: int, tone_views: int, seed: int,
                 teacher_id: str) -> None:
        self.folder = Path(folder)
        self.files = list(files)
        self.spec = CacheSpec(CACHE_VERSION, _relative(self.files), side, view_count(tone_views), seed, teacher_id)
        self._arrays: dict[str, np.ndarray] | None = None  # opened lazily: memmaps do not travel to workers

    # -- files ------------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return len(self.files)

    def _shapes(self) -> dict[str, tuple[int, ...]]:
        s = self.spec.side
        return {"photos": (self.n, 3, s, s), "targets": (self.n, self.spec.views, 3, s, s), "status": (self.n,)}

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}.u8"

    def _matches(self) -> bool:
        manifest = self.folder / MANIFEST
        if not manifest.is_file():
            return False
        if CacheSpec.from_json(manifest.read_text()) != self.spec:
            return False
        return all(self._path(k).is_file() and self._path(k).stat().st_size == int(np.prod(shape))
                   for k, shape in self._shapes().items())

    def _create(self) -> None:
        """Allocate every file at its full size (fails now if the disk is too small), then the manifest."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / MANIFEST).unlink(missing_ok=True)  # a half-made cache never looks valid
        for name, shape in self._shapes().items():
            size = int(np.prod(shape))
            with open(self._path(name), "wb") as f:
                if size:
                    try:
                        os.posix_fallocate(f.fileno(), 0, size)
                    except OSError as exc:
                        if exc.errno not in (95, 22):  # EOPNOTSUPP / EINVAL: a file system without it
                            raise DataError(f"the teacher-target cache needs {size / 2**30:.1f} GB in {self.folder}: "
                                            f"{exc.strerror}; pass --target-cache DIR on a larger disk") from None
                        f.truncate(size)
        atomic_write_text(self.folder / MANIFEST, self.spec.to_json())

    def _open(self, mode: str) -> dict[str, np.ndarray]:
        return {k: np.memmap(self._path(k), dtype=np.uint8, mode=mode, shape=shape)  # type: ignore[call-overload]
                for k, shape in self._shapes().items()}

    def prepare(self) -> int:
        """Make sure the files exist for this spec (main rank only); returns how many photos are done."""
        if not self._matches():
            if (self.folder / MANIFEST).exists():
                log.warning("%s holds teacher targets of another teacher, photo set or size: starting it again",
                            self.folder)
            self._create()
        status = np.fromfile(self._path("status"), dtype=np.uint8)
        return int((status != PENDING).sum())

    # -- building ---------------------------------------------------------------------------------
    @torch.no_grad()
    def build(self, teacher: nn.Module, device: torch.device, *, progress: bool = True, rank: int = 0,
              world_size: int = 1) -> None:
        """Compute what is still pending; this rank takes every ``world_size``-th chunk."""
        arrays = self._open("r+")
        pending = np.flatnonzero(arrays["status"] == PENDING)
        chunks = [pending[i : i + CHUNK_PHOTOS] for i in range(0, len(pending), CHUNK_PHOTOS)][rank::world_size]
        if not chunks:
            return
        done = self.n - len(pending)
        log.info("teacher targets: %d of %d photos cached in %s, computing the rest (%d views each)",
                 done, self.n, self.folder, self.spec.views)
        teacher.eval()
        aug = AugmentConfig(size=self.spec.side)
        for chunk in progress_bar(chunks, desc="teacher targets", unit="chunk", disable=not progress):
            readable = []
            for i in chunk:
                try:
                    arrays["photos"][i] = to_uint8(eval_view(load_image_rgb(self.files[i]), aug)).numpy()
                    readable.append(int(i))
                except ImageDecodeError as exc:
                    log.warning("skipping unreadable image %s", exc)
                    arrays["status"][i] = UNREADABLE
            jobs = [(i, v) for i in readable for v in range(self.spec.views)]
            for j in range(0, len(jobs), TEACHER_BATCH):
                part = jobs[j : j + TEACHER_BATCH]
                x = torch.stack([to_unit(self._view(arrays, i, v)) for i, v in part]).to(device)
                out = to_uint8(teacher(x).float().cpu()).numpy()
                for (i, v), y in zip(part, out, strict=True):
                    arrays["targets"][i, v] = y
            arrays["photos"].flush()
            arrays["targets"].flush()
            arrays["status"][readable] = DONE  # only after the data it vouches for is on disk
            arrays["status"].flush()

    def _view(self, arrays: dict[str, np.ndarray], i: int, v: int) -> torch.Tensor:
        return make_view(torch.from_numpy(np.array(arrays["photos"][i])), v, seed=self.spec.seed, index=i)

    # -- reading ----------------------------------------------------------------------------------
    def _read(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            self._arrays = self._open("r")
        return self._arrays

    def usable(self) -> list[int]:
        """Indices of the photos whose targets are cached (unreadable ones left out)."""
        status = self._read()["status"]
        if (status == PENDING).any():
            raise DataError(f"{self.folder}: teacher targets of {int((status == PENDING).sum())} photos are missing "
                            "(the build stopped early); run the same command again to finish it")
        return np.flatnonzero(status == DONE).tolist()

    def view(self, i: int, v: int) -> torch.Tensor:
        """(3, side, side) uint8: view ``v`` of photo ``i``, exactly as the teacher saw it."""
        return self._view(self._read(), i, v)

    def target(self, i: int, v: int) -> torch.Tensor:
        """(3, side, side) uint8: the teacher's output on that view."""
        return torch.from_numpy(np.array(self._read()["targets"][i, v]))

    def __getstate__(self) -> dict[str, Any]:  # DataLoader workers reopen the files themselves
        return {**self.__dict__, "_arrays": None}


def build_cache(cache: TargetCache, teacher: nn.Module, device: torch.device, *, progress: bool, rank: int = 0,
                world_size: int = 1, barrier: Callable[[], None] = lambda: None) -> None:
    """Prepare (main rank), build (every rank its share), and wait for everyone."""
    if rank == 0:
        cache.prepare()
    barrier()
    cache.build(teacher, device, progress=progress and rank == 0, rank=rank, world_size=world_size)
    barrier()
    if rank == 0:
        usable = len(cache.usable())
        if usable == 0:
            raise DataError("no readable image for the teacher's targets")
        log.info("teacher targets: %d photos x %d views at %d px in %s (%.0f MB on disk)", usable, cache.spec.views,
                 cache.spec.side, cache.folder,
                 sum(cache._path(k).stat().st_size for k in ("photos", "targets", "status")) / 2**20)
