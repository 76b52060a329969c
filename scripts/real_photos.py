"""Real-photo fidelity benchmark: distil each teacher on N photos of a dataset's trainA, score on testA.

For every teacher and every photo count it runs the README's CPU command (``mobilegan distill
--size 64 --preprocess crop --batch-size 16 --ssim 1 --eval-size 256`` plus ``--extra``) on a
seeded random N of ``trainA`` (the same N photos for every teacher), scores the student against its
teacher on every ``testA`` photo (mean, 5th percentile, worst photo by name, SSIM, the training-photo
score) and, with ``--other``, on a folder of photos of other kinds (landscapes, people, objects),
and records the wall time and peak memory of the distillation. BENCHMARKS.md "Real photos" came from::

    OMP_NUM_THREADS=2 .venv/bin/python scripts/real_photos.py --data ../shared/data/horse2zebra \\
        --teacher sketch=mobilegan/demo/assets/instance_teacher.pth --teacher old=runs/in-teachers/old.pth \\
        --photos 320 --steps 1250 --other runs/other-photos --out runs/real

Each run lands in ``OUT/<teacher>_<N><tag>/`` (``eval.json``, ``eval_worst.png``: input | teacher |
student of the worst photos); the teacher's targets are cached once per teacher, photo set and
``--tone-views`` in ``OUT/cache/`` and shared by the runs that agree. A finished run is not run again:
rerun the same command after an interruption. Nothing made from the dataset belongs in git.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("real_photos")
MOBILEGAN = [sys.executable, "-m", "mobilegan"]
CPU_RECIPE = "--size 64 --preprocess crop --batch-size 16 --ssim 1 --eval-size 256"  # the README's CPU command


def photo_subset(train: Path, n: int, out: Path, seed: int = 0) -> Path:
    """A folder of symlinks to a seeded random ``n`` of ``train`` (all of it when ``n`` is larger)."""
    folder = out / "data" / f"train{n}"
    files = sorted(p for p in train.iterdir() if p.is_file())
    random.Random(seed).shuffle(files)
    chosen = files[:n]
    if folder.is_dir() and len(list(folder.iterdir())) == len(chosen):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for f in chosen:
        link = folder / f.name
        if not link.exists():
            link.symlink_to(f.resolve())
    return folder


def run_measured(cmd: list[str], log_path: Path) -> tuple[int, float, float]:
    """Run ``cmd`` with its output in ``log_path``; (exit status, wall seconds, peak RSS in GB)."""
    start = time.perf_counter()
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    return os.waitstatus_to_exitcode(status), time.perf_counter() - start, usage.ru_maxrss / 2**20


def other_scores(teacher: Path, student: Path, other: Path, out: Path, size: int) -> dict[str, Any]:
    """Student vs teacher on photos of other kinds (``mobilegan eval`` at the held-out side)."""
    code = subprocess.call([*MOBILEGAN, "eval", "--teacher", str(teacher), "--student", str(student), "--data",
                            str(other), "--size", str(size), "--out", str(out), "-q"], stdout=subprocess.DEVNULL)
    if code != 0:
        raise SystemExit(f"mobilegan eval on {other} failed ({code})")
    return json.loads((out / "eval.json").read_text())


def one_run(name: str, teacher: Path, n: int, args: argparse.Namespace) -> dict[str, Any]:
    out = args.out / f"{name}_{n}{args.tag}"
    result_path = out / "result.json"
    if result_path.is_file():
        log.info("%s: done before, reading %s", out.name, result_path)
        return json.loads(result_path.read_text())
    extra = shlex.split(args.extra)
    tone = extra[extra.index("--tone-views") + 1] if "--tone-views" in extra else "0"
    cmd = [*MOBILEGAN, "distill", "--teacher", str(teacher), "--data-a", str(photo_subset(args.data / "trainA", n,
           args.out)), "--eval-data", str(args.data / "testA"), *shlex.split(args.recipe), "--steps", str(args.steps),
           "--out", str(out / "run"), "--target-cache", str(args.out / "cache" / f"{name}_{n}_v{tone}"),
           "--no-progress", *extra]
    if (out / "run" / "train_state.pt").exists():  # interrupted after its first checkpoint
        cmd.append("--resume")
    out.mkdir(parents=True, exist_ok=True)
    log.info("%s: %s", out.name, shlex.join(cmd))
    code, seconds, peak_gb = run_measured(cmd, out / "distill.log")
    if code != 0:
        raise SystemExit(f"{out.name}: distill failed ({code}); see {out / 'distill.log'}")
    ev = json.loads((out / "run" / "eval.json").read_text())
    result: dict[str, Any] = {
        "teacher": name, "photos": n, "tag": args.tag, "extra": args.extra, "steps": args.steps,
        "psnr_db": ev["psnr_db"], "psnr_db_p5": ev["psnr_db_p5"], "psnr_db_min": ev["psnr_db_min"],
        "worst": ev["worst"], "ssim": ev["ssim"], "train_psnr_db": ev.get("train_psnr_db"),
        "train_psnr_db_min": ev.get("train_psnr_db_min"), "seconds": seconds, "peak_rss_gb": peak_gb,
        "worst_grid": str(out / "run" / "eval_worst.png"),
    }
    if args.other is not None:
        o = other_scores(teacher, out / "run" / "student.pt", args.other, out / "other", ev["size"])
        result.update(other_psnr_db=o["psnr_db"], other_psnr_db_min=o["psnr_db_min"], other_worst=o["worst"],
                      other_worst_grid=str(out / "other" / "eval_worst.png"))
    result_path.write_text(json.dumps(result, indent=1) + "\n")
    return result


def table(results: list[dict[str, Any]]) -> str:
    head = ("| teacher | photos | recipe | testA mean / p5 / worst (dB) | worst photo | SSIM | training photos mean / "
            "worst | other photos mean / worst | distill time | peak RSS |\n|---|---:|---|---|---|---:|---|---|---:|---:|")
    rows = []
    for r in results:
        other = (f"{r['other_psnr_db']:.2f} / {r['other_psnr_db_min']:.2f}" if "other_psnr_db" in r else "-")
        train = (f"{r['train_psnr_db']:.2f} / {r['train_psnr_db_min']:.2f}" if r.get("train_psnr_db") else "-")
        rows.append(f"| {r['teacher']} | {r['photos']} | {r['extra'] or 'default'} | {r['psnr_db']:.2f} / "
                    f"{r['psnr_db_p5']:.2f} / {r['psnr_db_min']:.2f} | {r['worst'][0]['image']} | {r['ssim']:.4f} | "
                    f"{train} | {other} | {r['seconds'] / 60:.1f} min | {r['peak_rss_gb']:.2f} GB |")
    return "\n".join([head, *rows])


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True, help="dataset folder with trainA/ and testA/")
    p.add_argument("--teacher", action="append", required=True, metavar="NAME=PATH", help="a teacher (repeat)")
    p.add_argument("--photos", default="32,320,1067", help="training photo counts (default 32,320,1067)")
    p.add_argument("--steps", type=int, default=1250)
    p.add_argument("--recipe", default=CPU_RECIPE, help=f"the distill arguments of the CPU command (default "
                   f"'{CPU_RECIPE}')")
    p.add_argument("--extra", default="", help="more distill arguments, e.g. '--tone-views 2 --tone 2'")
    p.add_argument("--tag", default="", help="suffix of the run folders (tell recipes apart)")
    p.add_argument("--other", type=Path, help="photos of other kinds, scored too")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    for folder in (args.data / "trainA", args.data / "testA"):
        if not folder.is_dir():
            raise SystemExit(f"--data {args.data}: no {folder.name}/ folder (the dataset's README says where it is)")
    teachers = [(t.split("=", 1)[0], Path(t.split("=", 1)[1])) for t in args.teacher]
    results = [one_run(name, path, int(n), args) for name, path in teachers for n in args.photos.split(",")]
    (args.out / f"results{args.tag}.json").write_text(json.dumps(results, indent=1) + "\n")
    sys.stdout.write(table(results) + "\n")


if __name__ == "__main__":
    main()
