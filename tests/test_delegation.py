"""The default student lowers to ExecuTorch XNNPACK as one delegated segment (DESIGN.md section 3)."""

from __future__ import annotations

import pytest
import torch

from helpers_distill import single_thread  # noqa: F401  (autouse fixture)

from mobilegan.models import DEFAULT_STUDENT, create_model

pytestmark = pytest.mark.slow  # ExecuTorch lowering: `make test` runs it, `make test-fast` does not

# Graph nodes that move data around the delegate rather than compute on the portable kernels.
_BOOKKEEPING = ("getitem", "alloc", "executorch_call_delegate")


def _lower(model: torch.nn.Module, size: int):
    exir = pytest.importorskip("executorch.exir")
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

    example = (torch.rand(1, 3, size, size) * 2 - 1,)
    exported = torch.export.export(model.eval(), example)
    return exir.to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])


def _graph_report(edge) -> tuple[int, list[str]]:
    graph = edge.exported_program().graph_module.graph
    delegates = 0
    leftovers = []
    for node in graph.nodes:
        if node.op != "call_function":
            continue
        name = getattr(node.target, "__name__", str(node.target))
        if "executorch_call_delegate" in name:
            delegates += 1
        elif not any(tag in name for tag in _BOOKKEEPING):
            leftovers.append(name)
    return delegates, leftovers


def test_default_student_is_one_xnnpack_segment() -> None:
    torch.manual_seed(0)
    delegates, leftovers = _graph_report(_lower(create_model(DEFAULT_STUDENT), 64))
    assert delegates == 1, f"expected one XNNPACK segment, got {delegates}"
    assert leftovers == [], f"undelegated compute ops: {leftovers}"


def test_the_check_catches_an_undelegated_op() -> None:
    """The inspection must be able to fail: reflection padding is not delegated (DESIGN.md)."""
    model = create_model(DEFAULT_STUDENT, padding="reflect", n_blocks=1)
    delegates, leftovers = _graph_report(_lower(model, 32))
    assert leftovers, "reflection padding should have stayed outside the delegate"
    assert delegates >= 1
