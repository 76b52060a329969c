"""Image-wide context for students of InstanceNorm teachers: what a local student cannot see.

An InstanceNorm teacher normalises every feature map with statistics of the whole image, so its
picture of one region depends on the rest of the photo. A BatchNorm student sees only its 148 px
receptive field; a student with InstanceNorms of its own learns to game them with isolated bright
or dark blobs that move the statistics (seen in BENCHMARKS.md, "Distilling InstanceNorm
teachers"). The context branch gives the local student the image-wide information instead, as
FiLM: three strided convs on the whole image (4x4 patches, then two stride-2 convs: 1/4 to 1/16
resolution), the per-channel mean and mean square of their features and of the input (global
colour and contrast), and 1x1 convs that turn those into a scale and shift for the input
of every residual block.

Because the context is a separate input to the blocks, training can use crops of a photo with the
context of the whole photo (:meth:`ResnetGenerator.forward_features` takes ``context_image``), and
tiled inference computes it once per photo, at the photo's own resolution
(:func:`mobilegan.inference.tiling.translate_tensor`).
Everything is conv, ReLU, mean, mul and add: one XNNPACK segment.

With ``clamp`` the descriptor is held inside the range it took on the training photos (issue 31):
a student distilled on horses met a saturated orange flower close-up whose descriptor lay 10^4 spans
outside anything it had seen, and its FiLM turned the photo into a flat cyan square (3.3 dB). The
range is measured after training by :func:`mobilegan.distill.context_range.calibrate_context_range`
(every training photo, the final weights) and stored as buffers; until then it is wide open. It
applies in eval mode (inference, export), never in training. The
clamp is written as ``d - relu(d - hi) + relu(lo - d)``: sub, ReLU and add, which XNNPACK runs in
fp32 and int8 (its min/max ops are fp32 only).
"""

from __future__ import annotations

import torch
from torch import nn

CONTEXT_POOL = 4  # the context encoder's first conv reads 4x4 patches (stride 4): it works at 1/4 resolution
OPEN_RANGE = 1e4  # an uncalibrated clamp's bounds: far outside any descriptor of an image in [-1, 1]


def _moments(x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, 2C, 1, 1)
    """Per-channel mean and mean square over the image: its colour and contrast, for the 1x1 convs to
    combine. (No square root: XNNPACK cannot build the int8 graph of a standard deviation.)"""
    return torch.cat([x.mean(dim=(2, 3), keepdim=True), (x * x).mean(dim=(2, 3), keepdim=True)], dim=1)


class ContextEncoder(nn.Module):
    """(B, 3, H, W) whole image -> a descriptor (B, D, 1, 1); :meth:`film` turns it into block ``i``'s
    scale and shift (B, C, 1, 1). One 1x1 conv per block and role, so no op slices a tensor."""

    def __init__(self, *, in_channels: int, width: int, n_blocks: int, block_channels: int, hidden: int = 0,
                 clamp: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, CONTEXT_POOL, stride=CONTEXT_POOL)  # (B, width, H/4, W/4)
        self.conv2 = nn.Conv2d(width, width, 3, stride=2, padding=1)  # H/8
        self.conv3 = nn.Conv2d(width, width, 3, stride=2, padding=1)  # H/16
        self.act = nn.ReLU()
        descriptor = 2 * (in_channels + width)  # mean and mean square of the input and of the features
        self.clamp = clamp
        if clamp:  # the descriptor's range on the training photos (calibrate_context_range); open until measured
            self.register_buffer("range_lo", torch.full((1, descriptor, 1, 1), -OPEN_RANGE))
            self.register_buffer("range_hi", torch.full((1, descriptor, 1, 1), OPEN_RANGE))
        # Optional ReLU layer on the descriptor, appended to it: the FiLM convs see both, so a gain that
        # bends with the photo's contrast (as an InstanceNorm's 1/std does) can be drawn piecewise.
        self.hidden = nn.Conv2d(descriptor, hidden, 1) if hidden else None
        descriptor += hidden
        self.scale = nn.ModuleList(nn.Conv2d(descriptor, block_channels, 1) for _ in range(n_blocks))
        self.shift = nn.ModuleList(nn.Conv2d(descriptor, block_channels, 1) for _ in range(n_blocks))
        for conv in (*self.scale, *self.shift):  # start as the plain local student: scale 1, shift 0
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
        for conv in self.scale:  # the scale's 1 lives in its bias: no scalar constant in the graph
            nn.init.ones_(conv.bias)

    def describe(self, image: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, 2 (3 + width), 1, 1)
        """The unclamped descriptor: the moments of the image and of the encoder's features."""
        h = self.act(self.conv3(self.act(self.conv2(self.act(self.conv1(image))))))
        return torch.cat([_moments(image), _moments(h)], dim=1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, D, 1, 1)
        d = self.describe(image)
        if self.clamp and not self.training:  # clamp(d, lo, hi) in ops every backend runs in fp32 and int8
            # Not in training: a range measured at an earlier save would clamp descriptors the weights have
            # moved since, and the FiLM would learn on clamped values it never gets after the final measure.
            d = d - self.act(d - self.range_hi) + self.act(self.range_lo - d)
        return d if self.hidden is None else torch.cat([d, self.act(self.hidden(d))], dim=1)

    @torch.no_grad()
    def set_range(self, lo: torch.Tensor, hi: torch.Tensor) -> None:
        """Hold the descriptor inside [lo, hi] (each (D,) or (1, D, 1, 1)) from now on."""
        if not self.clamp:
            raise ValueError("this context encoder was built without a clamp (GeneratorConfig.context_clamp)")
        self.range_lo.copy_(lo.reshape(self.range_lo.shape))
        self.range_hi.copy_(hi.reshape(self.range_hi.shape))

    def film(self, descriptor: torch.Tensor, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Block ``i``'s (scale, shift), each (B, C, 1, 1): its input becomes ``x * scale + shift``."""
        return self.scale[i](descriptor), self.shift[i](descriptor)
