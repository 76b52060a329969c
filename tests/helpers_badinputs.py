"""Generators of hostile and odd inputs for the reliability tests.

Every function writes one file (or folder) under a given folder and returns its path. Images are
tiny (a few hundred bytes); the "very large image" is a valid PNG header that *claims* a huge
size, so it trips Pillow's decompression-bomb check without allocating gigabytes.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from mobilegan.checkpoints import save_generator, save_model
from mobilegan.models import create_model

SIDE = 40  # images are 40 x 36: not a multiple of 4 on purpose on one side
_RNG_SEED = 7


def _pixels(h: int = 36, w: int = SIDE, channels: int = 3, *, seed: int = _RNG_SEED) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (4, 4, channels), dtype=np.uint8)
    # Smooth content (upsampled noise) so JPEG round trips stay close.
    return np.kron(coarse, np.ones((h // 4 + 1, w // 4 + 1, 1), dtype=np.uint8))[:h, :w]


# --- valid but unusual images (the tool must convert them) -------------------------------------

def rgb_png(folder: Path, name: str = "rgb.png") -> Path:
    path = folder / name
    Image.fromarray(_pixels()).save(path)
    return path


def rgba_png(folder: Path) -> Path:
    arr = _pixels(channels=4)
    arr[..., 3] = 128  # half transparent
    path = folder / "rgba.png"
    Image.fromarray(arr).save(path)  # 4 channels -> RGBA
    return path


def grayscale_png(folder: Path) -> Path:
    path = folder / "gray.png"
    Image.fromarray(_pixels(channels=1)[..., 0]).save(path)  # 2-D uint8 -> L
    return path


def png_16bit(folder: Path) -> Path:
    arr = _pixels(channels=1)[..., 0].astype(np.uint16) * 257  # full 16-bit range
    path = folder / "deep16.png"
    Image.fromarray(arr).save(path)  # uint16 -> mode I;16
    with Image.open(path) as check:  # make sure Pillow really wrote 16 bits per sample
        assert check.mode.startswith("I"), check.mode
    return path


def cmyk_jpeg(folder: Path) -> Path:
    path = folder / "cmyk.jpg"
    Image.fromarray(_pixels()).convert("CMYK").save(path, quality=95)
    with Image.open(path) as check:
        assert check.mode == "CMYK", check.mode
    return path


def one_pixel_png(folder: Path) -> Path:
    path = folder / "one.png"
    Image.new("RGB", (1, 1), (200, 30, 60)).save(path)
    return path


# --- broken images (the tool must name the file and go on or stop cleanly) ----------------------

def corrupt_jpeg(folder: Path) -> Path:
    """A JPEG whose entropy-coded data is overwritten with garbage (header intact)."""
    buf = io.BytesIO()
    Image.fromarray(_pixels()).save(buf, format="JPEG", quality=90)
    data = bytearray(buf.getvalue())
    start = data.find(b"\xff\xda") + 20  # just after the start-of-scan header
    rng = np.random.default_rng(3)
    data[start:-2] = rng.integers(0, 255, len(data) - 2 - start, dtype=np.uint8).tobytes().replace(b"\xff", b"\x00")
    data[start + 10:start + 12] = b"\xff\xd9"  # an early end-of-image: too little data
    path = folder / "corrupt.jpg"
    path.write_bytes(bytes(data))
    return path


def truncated_png(folder: Path) -> Path:
    buf = io.BytesIO()
    Image.fromarray(_pixels()).save(buf, format="PNG")
    data = buf.getvalue()
    path = folder / "truncated.png"
    path.write_bytes(data[: len(data) // 2])
    return path


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def bomb_png(folder: Path, side: int = 100_000) -> Path:
    """A PNG whose header claims ``side`` x ``side`` pixels (10 G pixels): a decompression bomb.

    Only the header and a tiny IDAT are written (about 100 bytes); Pillow refuses it from the
    header alone, before allocating anything.
    """
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)  # 8-bit RGB
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    data += _chunk(b"IEND", b"")
    path = folder / "bomb.png"
    path.write_bytes(data)
    return path


def text_as_image(folder: Path) -> Path:
    path = folder / "notes.jpg"
    path.write_text("this is not a picture\n")
    return path


# --- hostile or wrong checkpoint files ----------------------------------------------------------

class FileCreatingPayload:
    """Unpickling this object creates ``target``: a stand-in for arbitrary code execution."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str, str]]:
        return (open, (self.target, "w"))  # opening for writing creates the file


def evil_pickle(folder: Path, target: Path) -> Path:
    """A ``.pt`` file that would create ``target`` if loaded with ``weights_only=False``."""
    path = folder / "evil.pt"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "payload": FileCreatingPayload(str(target))}, path)
    assert not target.exists()
    return path


def evil_plain_pickle(folder: Path, target: Path) -> Path:
    """The same payload in a bare ``pickle`` stream (not a torch zip file)."""
    path = folder / "evil_plain.pth"
    with open(path, "wb") as fh:
        pickle.dump(FileCreatingPayload(str(target)), fh)
    return path


def random_pickle(folder: Path) -> Path:
    path = folder / "random.pt"
    with open(path, "wb") as fh:
        pickle.dump({"numbers": list(range(10)), "text": "hello", "nested": {"a": (1, 2)}}, fh)
    return path


def random_bytes(folder: Path) -> Path:
    path = folder / "noise.pt"
    path.write_bytes(np.random.default_rng(5).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return path


def text_checkpoint(folder: Path) -> Path:
    path = folder / "readme.pt"
    path.write_text("weights are on the other drive\n")
    return path


def discriminator_checkpoint(folder: Path) -> Path:
    path = folder / "D_A.pt"
    torch.manual_seed(0)
    save_model(create_model("patchgan_70", ndf=8), path, kind="discriminator")
    return path


def optimizer_state(folder: Path) -> Path:
    path = folder / "optim.pt"
    model = torch.nn.Conv2d(3, 3, 3)
    opt = torch.optim.Adam(model.parameters())
    model(torch.zeros(1, 3, 4, 4)).sum().backward()
    opt.step()
    torch.save(opt.state_dict(), path)
    return path


def tiny_generator(folder: Path, name: str = "G.pt", *, safetensors: bool = False) -> Path:
    """A real, tiny mobile student (ngf 8, one block): the valid checkpoint the matrix starts from."""
    path = folder / (Path(name).stem + (".safetensors" if safetensors else ".pt"))
    torch.manual_seed(0)
    save_generator(create_model("mobile_w0125", n_blocks=1), path)
    return path


def image_folder(folder: Path, n: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(_pixels(seed=i)).save(folder / f"img_{i}.png")
    return folder


def leftovers(folder: Path) -> list[str]:
    """Temporary or partial files under ``folder`` (names our atomic writers use)."""
    if not folder.exists():
        return []
    bad: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in list(dirnames) + filenames:
            if name.endswith(".tmp") or name.startswith(".") or name.endswith(".partial"):
                bad.append(str(Path(dirpath, name).relative_to(folder)))
    return sorted(bad)
