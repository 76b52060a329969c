"""History pool of generated images (Shrivastava et al.), as CycleGAN uses for its discriminators."""

from __future__ import annotations

import random
from typing import Any

import torch


class ImagePool:
    """Returns, per image, either the new fake or (half the time, once full) an older one it swaps out.

    Has its own RNG so its choices are saved and restored with :meth:`state_dict`. ``size=0``
    disables the pool (the input is returned as is).
    """

    def __init__(self, size: int = 50, *, seed: int = 0) -> None:
        if size < 0:
            raise ValueError(f"pool size must be >= 0 (got {size})")
        self.size = size
        self.images: list[torch.Tensor] = []
        self._rng = random.Random(f"pool:{seed}")

    def query(self, images: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, H, W)
        if self.size == 0:
            return images
        out: list[torch.Tensor] = []
        for img in images.detach():
            img = img.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            elif self._rng.random() > 0.5:
                i = self._rng.randint(0, self.size - 1)
                old = self.images[i].to(img.device)
                self.images[i] = img.clone()
                out.append(old)
            else:
                out.append(img)
        return torch.cat(out, 0)

    def state_dict(self) -> dict[str, Any]:
        return {"size": self.size, "images": [t.detach().cpu() for t in self.images], "rng": self._rng.getstate()}

    def load_state_dict(self, state: dict[str, Any], device: torch.device | str = "cpu") -> None:
        self.size = int(state["size"])
        self.images = [t.to(device) for t in state["images"]]
        rng = state["rng"]
        self._rng.setstate((rng[0], tuple(rng[1]), rng[2]))
