"""Delegation report of a lowered ExecuTorch program: segments and every op left outside."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Graph nodes that only move results out of a delegate; not compute.
_BOOKKEEPING = ("getitem",)
_DELEGATE_CALL = "executorch_call_delegate"


@dataclass(frozen=True)
class DelegationReport:
    backend: str
    segments: int  # delegated subgraphs; 1 means the whole model runs in one XNNPACK call
    undelegated_ops: dict[str, int] = field(default_factory=dict)  # op name -> count, on portable kernels

    @property
    def fully_delegated(self) -> bool:
        return self.segments == 1 and not self.undelegated_ops

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "segments": self.segments, "undelegated_ops": dict(self.undelegated_ops)}

    def summary(self) -> str:
        if not self.undelegated_ops:
            return f"{self.segments} {self.backend} segment(s), no op outside"
        outside = ", ".join(f"{op} x{n}" for op, n in sorted(self.undelegated_ops.items()))
        return f"{self.segments} {self.backend} segment(s); outside: {outside}"


def op_name(target: Any) -> str:
    """``aten.index.Tensor``-style name of a graph node's target."""
    name = getattr(target, "__name__", None) or str(target)
    name = str(name).split(":")[0].strip("<> ")
    return name.replace("EdgeOpOverload", "").strip() or str(target)


def delegation_report(edge_program: Any) -> DelegationReport:
    """Inspect an ``EdgeProgramManager`` after ``to_edge_transform_and_lower``."""
    graph_module = edge_program.exported_program().graph_module
    segments = 0
    outside: Counter[str] = Counter()
    for node in graph_module.graph.nodes:
        if node.op != "call_function":
            continue
        name = op_name(node.target)
        if _DELEGATE_CALL in name:
            segments += 1
        elif not any(tag in name for tag in _BOOKKEEPING):
            outside[name] += 1
    backends = sorted({getattr(m, "backend_id", "") for _, m in graph_module.named_children()} - {""})
    return DelegationReport(backend="+".join(backends) or "none", segments=segments, undelegated_ops=dict(outside))
