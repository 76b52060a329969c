"""Core ML export end to end at 32 px: conversion, saved packages, parity via the MIL reference
interpreter, the fp16 overflow guard, compression, tampered packages, and the CLI."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

ct = pytest.importorskip("coremltools")

from mobilegan.export import mil_ops  # noqa: E402
from mobilegan.export.coreml import (  # noqa: E402
    CoreMLExportError,
    CoreMLOptions,
    convert_program,
    export_coreml,
    export_program,
    save_mlpackage,
)
from mobilegan.export.coreml_parity import CoreMLParityError, check_parity, eager_outputs, parity_images  # noqa: E402
from mobilegan.export.mil_interpreter import MilInterpreter, UnknownMilOpError, load_mlpackage_program  # noqa: E402
from mobilegan.models import create_model, list_models  # noqa: E402
from helpers_models import one_per_structure  # noqa: E402

pytestmark = pytest.mark.slow  # Core ML conversions: `make test` runs it, `make test-fast` does not

SIZE = (32, 32)


def lively(model: torch.nn.Module) -> torch.nn.Module:
    """Calibrate BatchNorm statistics on random images, as training would.

    With default running stats (mean 0, var 1) a random-init student's activations shrink
    layer after layer and its output is nearly constant, so even a wrong op would pass parity.
    """
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.rand(2, 3, *SIZE, generator=torch.Generator().manual_seed(1)) * 2 - 1)
    return model.eval()


def convert_and_save(model: torch.nn.Module, path: Path, **options) -> Path:
    program = export_program(model.eval(), SIZE)
    return save_mlpackage(convert_program(program, size=SIZE, options=CoreMLOptions(**options)), path)


def interpreter_max_abs(path: Path, model: torch.nn.Module) -> tuple[float, dict[str, int]]:
    """Max |interpreter - eager| on [0, 1] pixels, and the op types of the program."""
    images = parity_images(SIZE, 1)
    interp = MilInterpreter(load_mlpackage_program(path))
    got = interp.run({interp.input_names[0]: images[0]}).outputs[interp.output_names[0]]
    want = eager_outputs(model, images)[0]
    return float(np.abs(got - want).max() / 255.0), interp.op_types()


# U-Net: tests/test_unet.py. One preset per structure: width variants (mobile_w050, mobile_s2d4_w050, ...)
# and resnet_9blocks (= resnet_6blocks at two blocks) convert to the same ops.
@pytest.mark.parametrize("name", one_per_structure(list_models("generator", arch="resnet"), n_blocks=2))
def test_every_preset_fp32_matches_eager(name: str, tmp_path: Path) -> None:
    # Two residual blocks instead of 6-9: the same op types and parameters per layer, and
    # conversion time grows with depth (the full default student runs in the fp16 tests below).
    torch.manual_seed(0)
    model = lively(create_model(name, n_blocks=2))
    err, ops = interpreter_max_abs(convert_and_save(model, tmp_path / f"{name}.mlpackage", precision="fp32"), model)
    assert err <= 1e-4, (name, err, ops)


@pytest.mark.parametrize("variant", ["rewritten_teacher", "nearest_upsample"])
def test_other_generator_graphs_fp32(variant: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    if variant == "rewritten_teacher":
        rewrite = pytest.importorskip("mobilegan.export.rewrite")
        model, _ = rewrite.rewrite_for_xnnpack(create_model("resnet_6blocks", ngf=8, n_blocks=2).eval())
        # coremltools folds the rewrite's slice + concat reflection back into one reflect pad.
        expect = {"pad", "reduce_mean", "rsqrt"}
    else:
        model = create_model("resnet_6blocks", ngf=8, n_blocks=1, upsample="nearest_conv", padding="zero")
        expect = {"upsample_nearest_neighbor", "instance_norm"}
    err, ops = interpreter_max_abs(convert_and_save(model, tmp_path / "m.mlpackage", precision="fp32"), model)
    assert expect <= set(ops), sorted(ops)
    assert err <= 1e-4


@pytest.fixture(scope="module")
def fp16_export(tmp_path_factory: pytest.TempPathFactory):
    torch.manual_seed(0)
    model = lively(create_model("mobile_w025"))
    out = tmp_path_factory.mktemp("coreml_fp16")
    arts = export_coreml(model, out, name="mobile_w025", size=SIZE, options=CoreMLOptions(precision="fp16", palettize=8))
    return model, arts


def test_fp16_package_is_valid_with_metadata_and_card_entry(fp16_export) -> None:
    _, (base, small) = fp16_export
    mlmodel = ct.models.MLModel(str(base.path), skip_model_load=True)
    spec = mlmodel.get_spec()
    assert spec.WhichOneof("Type") == "mlProgram"
    assert spec.description.input[0].type.WhichOneof("Type") == "imageType"
    assert spec.description.output[0].type.WhichOneof("Type") == "imageType"
    assert mlmodel.author and mlmodel.license and mlmodel.version and "mobile_w025" in mlmodel.short_description
    assert {"mobilegan_version", "source_sha256", "macs", "input_size"} <= set(mlmodel.user_defined_metadata)
    e = base.entry
    assert (e["target"], e["precision"], e["input"]["layout"], e["input"]["range"]) == ("coreml", "fp16", "image", [0, 255])
    assert e["parity"]["engine"] == "mil-reference" and e["parity"]["psnr_db"] >= 40 and e["parity"]["threshold_db"] == 40
    json.dumps(e)  # serialisable into model.json


def test_palettized_package_has_its_own_entry(fp16_export) -> None:
    _, (base, small) = fp16_export
    assert small.entry["coreml"]["weight_compression"] == "palettize8"
    assert small.entry["parity"]["threshold_db"] == 30 and small.entry["parity"]["psnr_db"] >= 30
    assert small.entry["bytes"] < base.entry["bytes"]
    assert "constexpr_lut_to_dense" in MilInterpreter(load_mlpackage_program(small.path)).op_types()


def test_int8_weights(fp16_export, tmp_path: Path) -> None:
    from mobilegan.export.coreml_compress import quantize_int8

    model, (base, _) = fp16_export
    q = save_mlpackage(quantize_int8(ct.models.MLModel(str(base.path), skip_model_load=True)), tmp_path / "q.mlpackage")
    assert "constexpr_affine_dequantize" in MilInterpreter(load_mlpackage_program(q)).op_types()
    assert check_parity(q, model, threshold_db=30, size=SIZE).passed


def test_wrong_kernel_or_missing_kernel_is_caught(fp16_export, monkeypatch: pytest.MonkeyPatch) -> None:
    model, (base, _) = fp16_export
    assert check_parity(base.path, model, threshold_db=40, size=SIZE).passed
    monkeypatch.setitem(mil_ops.KERNELS, "relu", lambda a: np.abs(a.x()))
    assert not check_parity(base.path, model, threshold_db=40, size=SIZE).passed
    monkeypatch.delitem(mil_ops.KERNELS, "conv_transpose")
    with pytest.raises(UnknownMilOpError, match="conv_transpose"):
        check_parity(base.path, model, threshold_db=40, size=SIZE)


def test_fp16_overflow_is_found_and_avoided(tmp_path: Path) -> None:
    """Large pre-norm activations: fp16 InstanceNorm variance overflows; the guard keeps it fp32."""
    torch.manual_seed(0)
    model = create_model("resnet_6blocks", ngf=8, n_blocks=1).eval()
    with torch.no_grad():
        model.stem.conv.weight.mul_(300.0)
    with pytest.raises(CoreMLParityError):
        export_coreml(model, tmp_path, name="hot", size=SIZE, options=CoreMLOptions(precision="fp16", fp16_guard=False))
    assert not list(tmp_path.glob("*.mlpackage"))  # a failed export leaves no package behind
    (art,) = export_coreml(model, tmp_path, name="hot", size=SIZE, options=CoreMLOptions(precision="fp16"))
    assert art.entry["parity"]["psnr_db"] >= 40
    assert any(op.startswith("instance_norm") for op in art.entry["coreml"]["fp32_ops"])
    fn = load_mlpackage_program(art.path).functions["main"]
    dtypes = {op.outputs[0].dtype.__name__ for op in fn.operations if op.op_type == "instance_norm"}
    assert "fp32" in dtypes and len({op.op_type for op in fn.operations if op.op_type == "cast"}) == 1


@pytest.fixture()
def reflect_fp32(tmp_path: Path):
    torch.manual_seed(0)
    model = create_model("resnet_6blocks", ngf=8, n_blocks=1).eval()
    path = convert_and_save(model, tmp_path / "r.mlpackage", precision="fp32", tensor_io=True)
    return model, path


def _spec_path(pkg: Path) -> Path:
    return pkg / "Data" / "com.apple.CoreML" / "model.mlmodel"


def _ops(spec):
    block = spec.mlProgram.functions["main"].block_specializations
    return list(next(iter(block.values())).operations)


def test_tensor_io_and_tampered_pad_mode_is_rejected(reflect_fp32) -> None:
    model, path = reflect_fp32
    spec = ct.utils.load_spec(str(path))
    assert spec.description.input[0].type.WhichOneof("Type") == "multiArrayType"
    assert check_parity(path, model, threshold_db=60, size=SIZE).passed
    consts = {op.outputs[0].name: op for op in _ops(spec) if op.type == "const"}
    changed = 0
    for op in _ops(spec):
        if op.type == "pad":
            arg = op.inputs["mode"].arguments[0]
            holder = arg.value if arg.HasField("value") else consts[arg.name].attributes["val"]
            strings = holder.immediateValue.tensor.strings.values
            if strings[0] == "reflect":
                strings[0] = "replicate"
                changed += 1
    assert changed
    _spec_path(path).write_bytes(spec.SerializeToString())
    assert not check_parity(path, model, threshold_db=60, size=SIZE).passed


def test_tampered_weight_is_rejected(reflect_fp32) -> None:
    model, path = reflect_fp32
    spec = ct.utils.load_spec(str(path))
    consts = {op.outputs[0].name: op for op in _ops(spec) if op.type == "const"}
    # The head conv's weight: earlier convs feed an InstanceNorm, which cancels a scaled weight.
    head = [op for op in _ops(spec) if op.type == "conv"][-1]
    blob = consts[head.inputs["weight"].arguments[0].name].attributes["val"].blobFileValue
    weight_file = path / "Data" / "com.apple.CoreML" / "weights" / "weight.bin"
    data = bytearray(weight_file.read_bytes())
    meta_offset = blob.offset  # blob metadata: sentinel u32, dtype u32, size u64, data offset u64
    size, offset = struct.unpack_from("<QQ", data, meta_offset + 8)
    values = np.frombuffer(bytes(data[offset : offset + size]), dtype=np.float32) * 1.5
    data[offset : offset + size] = values.astype(np.float32).tobytes()
    weight_file.write_bytes(bytes(data))
    assert not check_parity(path, model, threshold_db=60, size=SIZE).passed


def test_bad_options_are_one_line_errors() -> None:
    with pytest.raises(CoreMLExportError, match="min-ios"):
        CoreMLOptions(palettize=6, min_ios=15)
    with pytest.raises(CoreMLExportError, match="precision"):
        CoreMLOptions(precision="int4")
    with pytest.raises(CoreMLExportError, match="either"):
        CoreMLOptions(palettize=6, quantize_weights="int8")
