"""``mobilegan report``: a self-contained, escaped, well-formed HTML page with a section per output found."""

from __future__ import annotations

import base64
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch
from PIL import Image

from mobilegan.bench.results import Row, write_results
from mobilegan.cli.main import main
from mobilegan.distill.evaluate import EvalReport, write_eval
from mobilegan.export.model_card import ModelCard, io_spec, make_artifact, write_card
from mobilegan.report import ReportError, build_report, render_html
from mobilegan.report.charts import _smooth, loss_curves_png, series
from mobilegan.report.section_runs import newest_sample

EVIL = "<script>alert(1)</script>"
VOID = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "wbr", "source"}
OLD_SAMPLE_SIZE, NEW_SAMPLE_SIZE, DEMO_GRID_SIZE = (20, 10), (24, 14), (50, 12)


def _png(path: Path, size: tuple[int, int], color: tuple[int, int, int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


def _training_run(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "G_AB.pt").write_bytes(b"")  # marks a CycleGAN training run (content not read)
    records = [{"step": s, "G_AB": 2.0 / s, "cycle_A": 1.0 / s, "D_A": 0.25, "lr": 2e-4} for s in range(1, 6)]
    records[2]["D_A"] = None  # a non-finite value, as MetricsLog writes it
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records) + "not json\n")
    _png(folder / "samples" / "step_000002.png", OLD_SAMPLE_SIZE, (200, 0, 0))
    _png(folder / "samples" / "step_000004.png", NEW_SAMPLE_SIZE, (0, 200, 0))


def _eval(folder: Path) -> None:
    gen = torch.Generator().manual_seed(0)
    images, t_out, s_out = (torch.rand(2, 3, 16, 16, generator=gen) * 2 - 1 for _ in range(3))
    report = EvalReport(images=2, size=16, psnr_db=31.25, psnr_db_min=29.5, ssim=0.875,
                        teacher={"params": 11_378_179, "macs": 100, "macs_compat": 120},
                        student={"params": 129_955, "macs": 10, "macs_compat": 12},
                        ratios={"params": 87.55, "macs": 10.0, "macs_compat": 10.0},
                        fid={"real_images": 40, "network": "FID Inception-v3 (test weights)",
                             "student": {"fid": 123.456, "kid": 0.0421, "kid_se": 0.0093, "images": 2},
                             "teacher": {"fid": 98.765, "kid": 0.0312, "kid_se": 0.0071, "images": 2}},
                        extra={"train_images": 2, "train_psnr_db": 36.5, "train_psnr_db_min": 35.25,
                               "psnr_db_before": 11.5})
    write_eval(report, images, t_out, s_out, folder)


def _export(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "student_fp32.pte").write_bytes(b"x" * 2048)
    spec = io_spec("image", [1, 3, 32, 32])
    common = {"input_spec": spec, "output_spec": io_spec("stylized", [1, 3, 32, 32]), "exporter": {"torch": "2.14.1"}}
    arts = (
        make_artifact(target="executorch", file="student_fp32.pte", precision="fp32", sha256="ab" * 32,
                      size_bytes=2048, delegation={"backend": "XnnpackBackend", "segments": 1, "undelegated_ops": {}},
                      parity={"reference": "eager fp32", "psnr_db": 92.3, "max_abs": 2.1e-6, "inputs": 4,
                              "threshold_db": 60}, **common),
        make_artifact(target="executorch", file="student_int8.pte", precision="int8", sha256="cd" * 32,
                      size_bytes=1024, delegation={"backend": "XnnpackBackend", "segments": 3,
                                                   "undelegated_ops": {"aten.upsample_nearest2d": 2}},
                      parity={"reference": "eager fp32", "psnr_db": 21.0, "max_abs": 0.4, "inputs": 4,
                              "threshold_db": 30}, **common),
    )
    card = ModelCard(name=EVIL, source={"checkpoint": "student.pt", "sha256": "ef" * 32}, config={"ngf": 16},
                     params=129_955, macs=916_455_424, macs_compat=1_369_440_256, size=(32, 32), artifacts=arts)
    write_card(folder, card)


def _bench(folder: Path) -> None:
    rows = [
        Row(model="student", runtime="executorch-xnnpack", precision="fp32", threads=2, size=32, median_ms=4.5,
            p10_ms=4.0, p90_ms=5.5, runs=10, bytes=2048, speedup_vs_teacher=12.0),
        Row(model="student", runtime="executorch-xnnpack", precision="fp32", threads=4, size=256, median_ms=30.0,
            p10_ms=27.5, p90_ms=34.0, runs=30, source="device", device="Pixel 8a", extra={"example": True}),
    ]
    write_results(folder / "bench.json", {"device": "host: test cpu (2 cores)", "os": "Linux"}, rows)
    _png(folder / "bench.png", (31, 21), (0, 0, 200))  # the same rows as bench.json: redrawn, not embedded
    _png(folder / "bench_sweep.png", (30, 20), (0, 0, 200))


def _demo(folder: Path) -> None:
    _png(folder / "grid.png", DEMO_GRID_SIZE, (120, 120, 0))
    doc = {
        "title": "Demo run",
        "data": {"source": "scikit-image sample photos", "style": "warm grade",
                 "photos": [{"file": "astronaut.png", "credit": EVIL}], "counts": {"train_a": 64, "test": 8}},
        "scores": {"identity_vs_truth": {"psnr_db": 21.25, "ssim": 0.8, "identity_psnr_db": 21.25,
                                         "identity_ssim": 0.8, "images": 8, "gain_db": 0.0},
                   "teacher_vs_truth": {"psnr_db": 27.75, "ssim": 0.91, "identity_psnr_db": 21.25,
                                        "identity_ssim": 0.8, "images": 8, "gain_db": 6.5},
                   "student_vs_truth": {"psnr_db": 26.5, "ssim": 0.89, "images": 8},
                   "student_vs_teacher": {"psnr_db": 33.0, "ssim": 0.97},
                   "executorch fp32 vs truth": {"psnr_db": 26.375, "ssim": 0.88}},
        "teacher": {"checkpoint": "teacher/G_AB.pt", "from_scratch": False,
                    "card": {"seed": 1234, "command": "mobilegan train --steps 4000", "scores": {"psnr_db": 27.7}}},
        "grid": {"file": "grid.png", "columns": ["input", "ground truth", "teacher", "student", "executorch fp32"]},
        "stages": [{"name": "distill", "seconds": 61.5, "status": "done", "detail": "300 steps"},
                   {"name": "bench", "seconds": 4.0, "status": "skipped", "detail": EVIL}],
        "commands": ["mobilegan distill --teacher teacher.pt --steps 300", f"echo '{EVIL}'"],
        "versions": {"torch": "2.14.1", "executorch": "1.5.1"},
        "machine": {"cpu": "test cpu", "cores": 2},
    }
    (folder / "demo.json").write_text(json.dumps(doc))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("run")
    _demo(root)
    _training_run(root / "teacher")
    _eval(root / "distill")
    _export(root / "export")
    _bench(root / "bench")
    return root


@pytest.fixture(scope="module")
def report(run_dir: Path) -> str:
    path = build_report(run_dir)
    assert path == run_dir / "report.html"
    return path.read_text(encoding="utf-8")


class _Checker(HTMLParser):
    """Collects tags, attributes and the open/close balance of every non-void element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def _parse(text: str) -> _Checker:
    checker = _Checker()
    checker.feed(text)
    checker.close()
    return checker


def _embedded_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for tag, attrs in _parse(text).tags:
        if tag == "img":
            head, payload = str(attrs["src"]).split(",", 1)
            with Image.open(io.BytesIO(base64.b64decode(payload))) as im:
                assert head == f"data:image/{im.format.lower()};base64" and im.format in ("PNG", "JPEG")
                sizes.append(im.size)
    return sizes


def test_every_section_is_rendered(report: str) -> None:
    for anchor in ("demo-demo-json", "eval-distill", "export-export", "bench-bench-bench-json", "run-teacher"):
        assert f'id="{anchor}"' in report and f'href="#{anchor}"' in report
    assert "CycleGAN training run" in report and "Student vs teacher" in report
    for label in ("input", "ground truth", "teacher", "student", "executorch fp32"):
        assert f"<div>{label}</div>" in report  # grid column labels
    # gain over identity: given (teacher), computed (student, exported artifact), none for student vs teacher
    assert "+6.50 dB" in report and "+5.25 dB" in report and "+5.12 dB" in report
    assert "identity PSNR dB" not in report  # per-row copies of the baseline are folded into one row
    assert "mobilegan train --steps 4000" in report and "card / scores / PSNR dB" in report  # teacher card
    assert "31.25 dB" in report and "87.5x" in report  # eval PSNR and params ratio
    assert "PSNR on 2 training images" in report and "36.50 dB" in report and "35.25 dB" in report
    assert "PSNR before distillation" in report and "11.50 dB" in report
    assert "KID s.e." in report and "against 40 real images; FID Inception-v3 (test weights)" in report
    assert "123.46" in report and "0.0421" in report and "0.0093" in report  # student FID, KID, its s.e.
    assert "mobilegan distill --teacher teacher.pt --steps 300" in re.search(r"<pre>(.*?)</pre>", report, re.S)[1]
    assert "executorch" in report and "1.5.1" in report and "61.5" in report
    assert "How these numbers were measured" in report


def test_images_are_embedded_and_the_newest_sample_is_shown(report: str) -> None:
    sizes = _embedded_sizes(report)
    # demo grid, loss chart, newest sample, eval grid, bench chart, bench_sweep.png
    assert len(sizes) == 6
    assert DEMO_GRID_SIZE in sizes and NEW_SAMPLE_SIZE in sizes and (30, 20) in sizes
    assert OLD_SAMPLE_SIZE not in sizes and (31, 21) not in sizes


def test_no_external_urls_or_scripts(report: str) -> None:
    checker = _parse(report)
    links = [v for tag, attrs in checker.tags for k, v in attrs.items() if k in ("src", "href")]
    assert links and all(str(v).startswith(("data:image/png;base64,", "data:image/jpeg;base64,", "#")) for v in links)
    assert not re.search(r"https?://", report)
    assert "script" not in {tag for tag, _ in checker.tags}


def test_strings_from_files_are_escaped(report: str) -> None:
    assert EVIL not in report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report
    assert "Export: &lt;script&gt;" in report  # the model name from model.json


def test_example_rows_are_labelled(report: str) -> None:
    rows = re.findall(r"<tr( class=\"example\")?>(.*?)</tr>", report, re.S)
    bench_rows = [(cls, body) for cls, body in rows if "executorch-xnnpack" in body]
    assert len(bench_rows) == 2
    labelled = {bool(cls): "EXAMPLE" in body for cls, body in bench_rows}
    assert labelled == {True: True, False: False}


def test_parity_verdicts_and_missing_files(report: str) -> None:
    export = re.search(r'<section id="export-export">(.*?)</section>', report, re.S)[1]
    assert export.count(">pass<") == 1 and export.count(">FAIL<") == 1
    assert "missing" in export  # student_int8.pte is listed but absent
    assert "aten.upsample_nearest2d x2" in export and "2.0" in export  # undelegated op, size KB


def test_document_is_well_formed(report: str) -> None:
    checker = _parse(report)
    assert not checker.errors and not checker.stack
    names = [tag for tag, _ in checker.tags]
    for tag in ("html", "head", "body", "header", "main", "footer"):
        assert names.count(tag) == 1
    assert names.count("section") == 5


def test_empty_or_unrelated_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="nothing to report"):
        build_report(tmp_path)
    (tmp_path / "notes.json").write_text('{"schema": "other"}')
    _png(tmp_path / "photo.png", (4, 4), (0, 0, 0))
    with pytest.raises(ReportError, match="nothing to report"):
        build_report(tmp_path)
    assert not (tmp_path / "report.html").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(ReportError, match="not a folder"):
        build_report(tmp_path / "photo.png")


def test_broken_and_partial_inputs_are_reported_not_fatal(tmp_path: Path) -> None:
    outside = _png(tmp_path / "secret.png", (8, 8), (9, 9, 9))
    run = tmp_path / "run"
    (run / "export").mkdir(parents=True)
    (run / "export" / "model.json").write_text("{not json")
    (run / "demo.json").write_text(json.dumps({"grid": {"file": str(outside)}, "scores": {"x": 3}}))
    text = render_html(run)
    assert "not readable JSON" in text
    assert "not found inside the run folder" in text  # a path outside RUN_DIR is never embedded
    assert "<img" not in text


def test_series_keeps_steps_and_skips_non_numbers() -> None:
    steps, values = series([{"step": 1, "a": 1.0, "tag": "x"}, {"step": 3, "a": None, "b": 2}])
    assert steps == [1.0, 3.0]
    assert set(values) == {"a", "b"}
    assert values["a"][0] == 1.0 and values["a"][1] != values["a"][1]  # NaN
    assert values["b"][1] == 2.0


def test_smoothing_skips_gaps_and_long_logs_still_plot() -> None:
    nan = float("nan")
    out = _smooth([1.0, nan, 3.0, 5.0, nan, nan], 2)
    assert out[:4] == [1.0, 1.0, 3.0, 4.0] and out[4] == 5.0 and out[5] != out[5]
    records = [{"step": s, "G": 1.0 / s, "lr": 1e-4} for s in range(1, 5001)]
    png = loss_curves_png(records, "long run")
    with Image.open(io.BytesIO(png)) as im:
        assert im.format == "PNG" and im.width > 300
    assert loss_curves_png([{"step": 1, "note": "text only"}], "empty") is None


def test_newest_sample_orders_by_step_number(tmp_path: Path) -> None:
    for step in (9, 10, 100):
        _png(tmp_path / f"step_{step}.png", (2, 2), (0, 0, 0))
    assert newest_sample(tmp_path).name == "step_100.png"
    assert newest_sample(tmp_path / "nothing") is None


def test_cli_writes_report_and_fails_in_one_line(run_dir: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(run_dir / "export"), "--out", str(out), "--title", "Mine"]) == 0
    assert capsys.readouterr().out.strip() == f"report: {out}"
    text = out.read_text()
    assert "<title>Mine</title>" in text
    assert "Parity compares" in text and "Latency is" not in text  # footer explains only what is shown
    assert main(["report", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such folder" in err and "Traceback" not in err


def test_photos_embed_as_jpeg_and_exact_pictures_as_png(tmp_path: Path) -> None:
    import numpy as np
    import skimage.data as sd

    from mobilegan.report.embed import image_uri

    photo = sd.astronaut()  # 512 x 512 photograph
    Image.fromarray(photo).save(tmp_path / "photo.png")
    flat = np.zeros((400, 600, 3), np.uint8)
    flat[100:300, 50:550] = (30, 120, 200)  # a chart-like picture: few colours, sharp edges
    Image.fromarray(flat).save(tmp_path / "chart.png")
    Image.fromarray(photo[:48, :48]).save(tmp_path / "small.png")

    def decode(uri: str) -> tuple[str, np.ndarray]:
        with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as im:
            return im.format, np.asarray(im.convert("RGB"), dtype=np.float64)

    picture = image_uri(tmp_path / "photo.png")
    fmt, pixels = decode(picture.uri)
    png_len = len(base64.b64encode((tmp_path / "photo.png").read_bytes()))
    assert fmt == "JPEG" and 2 * len(picture.uri) < png_len
    assert 10 * np.log10(255**2 / np.mean((pixels - photo) ** 2)) > 36  # high quality: 37.2 dB at q85 4:4:4
    for name in ("chart.png", "small.png"):
        fmt, pixels = decode(image_uri(tmp_path / name).uri)
        assert fmt == "PNG" and np.array_equal(pixels, np.asarray(Image.open(tmp_path / name)))
    assert decode(image_uri(tmp_path / "photo.png", exact=True).uri)[0] == "PNG"
