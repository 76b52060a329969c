"""Image metrics shared by distill, eval, demo, bench and the report.

``fidelity``: PSNR and SSIM between two images (re-exported here: ``from mobilegan.metrics import
psnr, ssim``). ``fid``: FID and KID arithmetic on feature matrices. ``inception``: Inception-v3 pool
features from weights already on this machine; ``fid_inception`` is the FID network and
``fid_weights`` where its weights come from. Knows nothing of training, models or export.
"""

from mobilegan.metrics.fidelity import psnr, ssim

__all__ = ["psnr", "ssim"]
