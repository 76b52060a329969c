"""FID and KID arithmetic on feature matrices (N, D), independent of the feature network.

FID (Heusel et al. 2017): ``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))`` with unbiased
covariances. The trace of the matrix square root is computed as the sum of square roots of
the eigenvalues of the symmetric PSD matrix ``S1^(1/2) S2 S1^(1/2)`` (same spectrum as
``S1 S2``), which avoids the complex-valued ``sqrtm`` of a non-symmetric product.

KID (Binkowski et al. 2018): unbiased MMD^2 with the cubic polynomial kernel
``k(x, y) = (x.y / D + 1)^3``, on the full sets (small sets, jackknife standard error) or averaged
over random subsets (large sets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mobilegan.errors import MobileganError


@dataclass(frozen=True)
class FeatureStats:
    mu: np.ndarray  # (D,)
    sigma: np.ndarray  # (D, D)
    count: int


def feature_stats(features: np.ndarray) -> FeatureStats:
    """Mean and unbiased covariance of (N, D) features (N >= 2)."""
    feats = np.asarray(features, dtype=np.float64)
    if feats.ndim != 2 or feats.shape[0] < 2:
        raise MobileganError(f"FID needs at least 2 feature vectors, got shape {feats.shape}")
    return FeatureStats(mu=feats.mean(axis=0), sigma=np.cov(feats, rowvar=False), count=feats.shape[0])


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (negative round-off clipped)."""
    sym = (matrix + matrix.T) / 2.0
    vals, vecs = np.linalg.eigh(sym)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """``tr((S1 S2)^(1/2))`` for symmetric PSD ``S1`` and ``S2``."""
    root1 = _psd_sqrt(sigma1)
    inner = root1 @ sigma2 @ root1
    vals = np.linalg.eigvalsh((inner + inner.T) / 2.0)
    return float(np.sqrt(np.clip(vals, 0.0, None)).sum())


def frechet_distance(a: FeatureStats, b: FeatureStats) -> float:
    if a.mu.shape != b.mu.shape:
        raise MobileganError(f"FID: feature sizes differ ({a.mu.shape[0]} vs {b.mu.shape[0]})")
    diff = a.mu - b.mu
    value = diff @ diff + np.trace(a.sigma) + np.trace(b.sigma) - 2.0 * trace_sqrt_product(a.sigma, b.sigma)
    return float(max(value, 0.0))


def fid_from_features(real: np.ndarray, fake: np.ndarray) -> float:
    return frechet_distance(feature_stats(real), feature_stats(fake))


def _poly_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between two samples with the KID polynomial kernel."""
    m, n = x.shape[0], y.shape[0]
    kxx, kyy, kxy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
    sum_xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    sum_yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sum_xx + sum_yy - 2.0 * kxy.mean())


def mmd2_jackknife_se(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sample jackknife standard error of :func:`mmd2_unbiased` (needs 3+ samples per side).

    Each leave-one-out estimate is rebuilt from the kernel sums in O(1), so the whole pass costs
    the three kernel matrices. Var = (m-1)/m sum_i (t_-i - mean)^2 + (n-1)/n sum_j (t_-j - mean)^2.
    """
    m, n = x.shape[0], y.shape[0]
    if min(m, n) < 3:
        return float("nan")
    kxx, kyy, kxy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
    row_x = kxx.sum(axis=1) - np.diag(kxx)  # sum over j != i
    row_y = kyy.sum(axis=1) - np.diag(kyy)
    a, b, c = row_x.sum(), row_y.sum(), kxy.sum()
    drop_x = (a - 2 * row_x) / ((m - 1) * (m - 2)) + b / (n * (n - 1)) - 2 * (c - kxy.sum(axis=1)) / ((m - 1) * n)
    drop_y = a / (m * (m - 1)) + (b - 2 * row_y) / ((n - 1) * (n - 2)) - 2 * (c - kxy.sum(axis=0)) / (m * (n - 1))
    var = (m - 1) / m * ((drop_x - drop_x.mean()) ** 2).sum() + (n - 1) / n * ((drop_y - drop_y.mean()) ** 2).sum()
    return float(np.sqrt(var))


@dataclass(frozen=True)
class KidResult:
    mean: float  # KID (unbiased MMD^2): full-set estimate, or the mean over subsets for large sets
    std: float  # spread of the subset estimates (0 when every subset is the whole set)
    se: float  # standard error of ``mean``: jackknife on the full sets, or std / sqrt(subsets)
    subsets: int
    subset_size: int


def kid_from_features(
    real: np.ndarray, fake: np.ndarray, *, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> KidResult:
    """KID with its standard error.

    When both sides have at most ``subset_size`` images, KID is the unbiased estimate on the full
    sets and its standard error the two-sample jackknife's (random subsets of the whole set would
    all be the same set). Larger sets follow Binkowski et al.: ``subsets`` random subsets of
    ``subset_size``, their mean, and std / sqrt(subsets) as an approximate standard error.
    """
    real = np.asarray(real, dtype=np.float64)
    fake = np.asarray(fake, dtype=np.float64)
    if min(real.shape[0], fake.shape[0]) < 2:
        raise MobileganError(f"KID needs at least 2 images on each side (got {real.shape[0]} real, {fake.shape[0]} fake)")
    if max(real.shape[0], fake.shape[0]) <= subset_size:
        return KidResult(mean=mmd2_unbiased(real, fake), std=0.0, se=mmd2_jackknife_se(real, fake), subsets=1,
                         subset_size=min(real.shape[0], fake.shape[0]))
    size = min(subset_size, real.shape[0], fake.shape[0])
    rng = np.random.default_rng(seed)
    values = np.array([
        mmd2_unbiased(real[rng.choice(real.shape[0], size, replace=False)],
                      fake[rng.choice(fake.shape[0], size, replace=False)])
        for _ in range(subsets)
    ])
    return KidResult(mean=float(values.mean()), std=float(values.std()), se=float(values.std() / np.sqrt(subsets)),
                     subsets=subsets, subset_size=size)
