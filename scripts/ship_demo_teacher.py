"""Score a finished `scripts/train_demo_teacher.sh` run and install it as the demo's shipped teacher.

    scripts/train_demo_teacher.sh        # writes runs/demo-teacher (data in runs/demo-data)
    .venv/bin/python scripts/ship_demo_teacher.py runs/demo-teacher --data runs/demo-data \
        --command "scripts/train_demo_teacher.sh" --trained-on "2-core CPU, OMP_NUM_THREADS=2, 40 min"

Writes mobilegan/demo/assets/demo_teacher.pt (a copy of RUN/G_AB.pt) and demo_teacher.json (the
card: command, seed, steps, data, held-out scores against the ground truth and the identity
baseline, sha256). tests/test_demo.py checks that the card's scores reproduce from the file.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from datetime import datetime, timezone
from pathlib import Path

from mobilegan.checkpoints import load_generator_checkpoint
from mobilegan.demo.photos import PHOTOS, DemoDataConfig, build_demo_data
from mobilegan.demo.pipeline import SHIPPED_TEACHER, SHIPPED_TEACHER_CARD
from mobilegan.demo.score import score_generator
from mobilegan.errors import MobileganError
from mobilegan.utils.atomic import atomic_path, atomic_write_text
from mobilegan.utils.hashing import sha256_file

log = logging.getLogger("ship_demo_teacher")


def ship(run: Path, data_root: Path, command: str, trained_on: str) -> dict:
    loaded = load_generator_checkpoint(run / "G_AB.pt")
    if loaded.layout != "mobilegan":
        raise MobileganError(f"{run / 'G_AB.pt'} is not a mobilegan checkpoint")
    data_cfg = DemoDataConfig()
    size = data_cfg.held_side
    score = score_generator(loaded.model, build_demo_data(data_root, data_cfg), size)
    with atomic_path(SHIPPED_TEACHER) as tmp:
        shutil.copyfile(run / "G_AB.pt", tmp)
    meta = loaded.meta
    card = {
        "description": "Demo teacher: CycleGAN G_AB (photo -> mobilegan.demo.style.stylize look), "
                       f"resnet_6blocks ngf {loaded.config.ngf}, norm {loaded.config.norm}, padding {loaded.config.padding}, "
                       f"upsample {loaded.config.upsample}",
        "command": command,
        "train_command": meta.get("command", ""),
        "seed": meta.get("seed", 0),
        "steps": meta.get("steps"),
        "total_steps": meta.get("total_steps"),
        "data": f"mobilegan.demo.photos.build_demo_data(seed {data_cfg.seed}): {data_cfg.block} px blocks of "
                f"{len(PHOTOS)} bundled photos, a quarter held out; "
                + ("A and B are the same training pool (B stylized), drawn independently" if data_cfg.shared_pool
                   else "the training pool dealt into disjoint A and B halves"),
        "size": size,
        "scores": {**score.to_dict(), "held_out_images": score.images, "evaluated_at_px": size},
        "sha256": sha256_file(SHIPPED_TEACHER),
        "bytes": SHIPPED_TEACHER.stat().st_size,
        "trained_on": trained_on,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_write_text(SHIPPED_TEACHER_CARD, json.dumps(card, indent=2) + "\n")
    return card


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="the train run folder (G_AB.pt)")
    p.add_argument("--data", type=Path, default=Path("runs/demo-data"), help="demo data folder (built if missing)")
    p.add_argument("--command", required=True, help="the exact command that trained the run")
    p.add_argument("--trained-on", required=True, help="machine, threads and library versions")
    args = p.parse_args()
    try:
        card = ship(args.run, args.data, args.command, args.trained_on)
    except MobileganError as exc:
        raise SystemExit(f"ship_demo_teacher: error: {exc}") from None
    s = card["scores"]
    log.info("shipped %s: %.2f dB vs ground truth, identity %.2f dB (gain %+.2f dB)",
             SHIPPED_TEACHER, s["psnr_db"], s["identity_psnr_db"], s["gain_db"])


if __name__ == "__main__":
    main()
