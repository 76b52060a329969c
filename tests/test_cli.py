"""CLI: help, version, profile output, and one-line user errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mobilegan.checkpoints import save_generator
from mobilegan.cli.main import COMMANDS, main
from mobilegan.models import create_model
from mobilegan.version import __version__


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse exits for --help / --version / usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    for name in COMMANDS:
        assert name in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and __version__ in out


def test_profile_json_reproduces_paper_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "profile", "resnet_9blocks", "--size", "256", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["params"] == 11_378_179
    assert isinstance(data["macs"], int) and round(data["macs"] / 1e9, 1) == 49.6
    assert round(data["macs_compat"] / 1e9, 1) == 56.8


def test_profile_checkpoint_and_layers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_generator(create_model("mobile_w025"), tmp_path / "student.pt")
    code, out, _ = run_cli(capsys, "profile", str(tmp_path / "student.pt"), "--size", "64", "--layers")
    assert code == 0
    assert "blocks.0.conv_dw1.conv" in out and "129,955" in out


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["profile", "resnet_9block"], "did you mean 'resnet_9blocks'"),
        (["profile", "resnet_9blocks", "--size", "250"], "multiple of 4"),
        (["profile", "resnet_9blocks", "--size", "-4"], "multiple of 4"),
        (["profile", "missing/G_AB.pt"], "no such file"),
        (["nonsense-command"], "invalid choice"),
    ],
)
def test_user_errors_are_one_line_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert needle in lines[0]
    assert "Traceback" not in err


@pytest.mark.slow
def test_console_script_bad_checkpoint_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "G_AB.pt"
    bad.write_text("not a checkpoint")
    exe = Path(sys.executable).with_name("mobilegan")
    proc = subprocess.run([str(exe), "profile", str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "G_AB.pt" in proc.stderr


HEAVY = ("torch", "numpy", "PIL", "onnxruntime", "executorch", "coremltools")


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["train", "--steps", "0", "--out", "x"],
                                  ["distill", "--help"], ["export", "--target", "onnx", "--size", "30"]])
def test_startup_paths_do_not_import_torch(argv: list[str]) -> None:
    # --help, --version and argument errors must answer fast: no torch (or numpy, PIL, ...) on the way.
    code = ("import sys\nfrom mobilegan.cli.main import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            f"print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60)
    assert "LOADED []" in done.stderr.splitlines(), done.stderr[-2000:]


def test_lazy_package_attributes_still_resolve() -> None:
    import mobilegan
    import mobilegan.models

    assert mobilegan.create_model is mobilegan.models.create_model
    assert "profile_model" in dir(mobilegan) and callable(mobilegan.load_generator)
    with pytest.raises(AttributeError):
        _ = mobilegan.no_such_name


def test_debug_works_after_the_command_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mobilegan.errors import MobileganError

    missing = str(tmp_path / "nope.pt")
    assert main(["profile", missing]) == 2 and "nope.pt" in capsys.readouterr().err
    for argv in (["--debug", "profile", missing], ["profile", missing, "--debug"]):
        with pytest.raises(MobileganError):  # --debug: the exception itself (a traceback on the terminal)
            main(argv)


def test_profile_shows_config_effective_widths_and_receptive_field(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "mobile_w025"]) == 0
    out = capsys.readouterr().out
    assert "ngf 64 x width 0.25 -> stage widths 16/32/64" in out and "norm batch" in out
    assert "receptive field 153 px" in out
