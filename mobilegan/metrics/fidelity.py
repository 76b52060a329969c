"""Image-fidelity metrics between two generators' outputs: PSNR and SSIM.

Both take NCHW float tensors in the generators' range [-1, 1] (``data_range=2``). SSIM is
Wang et al. (2004) with an 11-tap Gaussian window (sigma 1.5, truncated at 3.5 sigma as
scikit-image does), K1 = 0.01, K2 = 0.03, population (biased) statistics, computed per
channel over the "valid" region and averaged. It is differentiable, so the distillation
loss uses it too.

SSIM is defined on non-negative intensities, so it first maps the range [low, low + data_range]
onto [0, 1]: its luminance term ``(2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1)`` on signed values
would score two mid-grey windows 0.05 above and below zero as -0.85 (opposite signs) where the
same images in [0, 1] score 0.99. (scikit-image computes on the values it is given, so it must
be handed [0, 1] images too.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def psnr(a: torch.Tensor, b: torch.Tensor, *, data_range: float = 2.0, eps: float = 1e-12) -> torch.Tensor:
    """Peak signal-to-noise ratio per image, in dB: a tensor of shape (B,)."""
    if a.shape != b.shape:
        raise ValueError(f"psnr: shapes differ {tuple(a.shape)} vs {tuple(b.shape)}")
    mse = (a.float() - b.float()).pow(2).flatten(1).mean(dim=1)  # (B,)
    return 10.0 * torch.log10(data_range**2 / mse.clamp_min(eps))


def gaussian_window(sigma: float = SSIM_SIGMA, truncate: float = SSIM_TRUNCATE) -> torch.Tensor:
    """Normalised 1-D Gaussian taps, radius ``int(truncate * sigma + 0.5)`` (11 taps at sigma 1.5)."""
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    g = torch.exp(-0.5 * (x / sigma) ** 2)
    return g / g.sum()


def _blur(x: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """Separable depthwise Gaussian blur, valid region only: (B, C, H, W) -> (B, C, H-k+1, W-k+1)."""
    c = x.shape[1]
    k = taps.numel()
    kh = taps.to(x).view(1, 1, k, 1).expand(c, 1, k, 1)
    kw = taps.to(x).view(1, 1, 1, k).expand(c, 1, 1, k)
    return F.conv2d(F.conv2d(x, kh, groups=c), kw, groups=c)


def ssim(
    a: torch.Tensor,
    b: torch.Tensor,
    *,
    data_range: float = 2.0,
    low: float = -1.0,
    sigma: float = SSIM_SIGMA,
) -> torch.Tensor:
    """Mean structural similarity per image: a tensor of shape (B,) in [-1, 1].

    ``a`` and ``b`` hold intensities in ``[low, low + data_range]`` (the generators' [-1, 1] by
    default); they are scored as [0, 1] images.
    """
    if a.shape != b.shape or a.dim() != 4:
        raise ValueError(f"ssim: expected two equal NCHW shapes, got {tuple(a.shape)} and {tuple(b.shape)}")
    taps = gaussian_window(sigma)
    k = taps.numel()
    if min(a.shape[-2:]) < k:
        raise ValueError(f"ssim: images must be at least {k}x{k} pixels, got {tuple(a.shape[-2:])}")
    a = (a.float() - low) / data_range
    b = (b.float() - low) / data_range
    c1 = SSIM_K1**2  # (K * L)^2 with L = 1 after the mapping
    c2 = SSIM_K2**2
    mu_a = _blur(a, taps)
    mu_b = _blur(b, taps)
    # E[x^2] - E[x]^2 with the same window: population variance / covariance.
    var_a = _blur(a * a, taps) - mu_a * mu_a
    var_b = _blur(b * b, taps) - mu_b * mu_b
    cov = _blur(a * b, taps) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    return (num / den).flatten(1).mean(dim=1)

