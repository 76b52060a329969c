"""Delegation report of a ``.tflite`` in the LiteRT interpreter: how many of its ops the XNNPACK
delegate takes, in how many partitions, and which ops stay on LiteRT's own kernels.

The interpreter applies XNNPACK when it allocates tensors and appends one ``DELEGATE`` node per
partition to the node list, keeping the nodes it replaced there too. A model op belongs to a
partition when it lies between that node's inputs and outputs: walking back from each delegate
output through the producing ops, stopping at the delegate's inputs, finds exactly those ops.
Every other op runs outside the delegate (each one splits the graph, as in ExecuTorch).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BACKEND = "XNNPACK"
_DELEGATE_OP = "DELEGATE"


@dataclass(frozen=True)
class LiteRTDelegation:
    backend: str
    partitions: int  # XNNPACK partitions (DELEGATE nodes); 1 means the whole model runs in one call
    delegated_ops: int  # model ops inside a partition
    undelegated_ops: dict[str, int] = field(default_factory=dict)  # op name -> count, on LiteRT kernels

    @property
    def total_ops(self) -> int:
        return self.delegated_ops + sum(self.undelegated_ops.values())

    @property
    def fully_delegated(self) -> bool:
        return self.partitions == 1 and not self.undelegated_ops

    def to_dict(self) -> dict[str, Any]:
        # "segments" as in the ExecuTorch report, so apps and ``bench`` read one key for both.
        return {"backend": self.backend, "segments": self.partitions, "delegated_ops": self.delegated_ops,
                "total_ops": self.total_ops, "undelegated_ops": dict(self.undelegated_ops)}

    def summary(self) -> str:
        head = f"{self.delegated_ops}/{self.total_ops} ops in {self.partitions} {self.backend} partition(s)"
        if not self.undelegated_ops:
            return head + ", no op outside"
        return head + "; outside: " + ", ".join(f"{op} x{n}" for op, n in sorted(self.undelegated_ops.items()))


def report_from_ops(ops: list[dict[str, Any]], *, backend: str = BACKEND) -> LiteRTDelegation:
    """The report for a node list as ``Interpreter._get_ops_details()`` gives it (``op_name``,
    ``inputs``, ``outputs`` per node; delegate nodes after the model's)."""
    model_ops = [op for op in ops if op["op_name"] != _DELEGATE_OP]
    delegates = [op for op in ops if op["op_name"] == _DELEGATE_OP]
    producer: dict[int, int] = {}
    for i, op in enumerate(model_ops):
        for t in op["outputs"]:
            producer[int(t)] = i
    inside: set[int] = set()
    for node in delegates:
        stop = {int(t) for t in node["inputs"]}
        todo = [int(t) for t in node["outputs"]]
        seen: set[int] = set()
        while todo:
            t = todo.pop()
            if t in seen or t in stop or t not in producer:
                continue
            seen.add(t)
            i = producer[t]
            if i not in inside:
                inside.add(i)
                todo.extend(int(u) for u in model_ops[i]["inputs"] if int(u) >= 0)
    outside = Counter(op["op_name"] for i, op in enumerate(model_ops) if i not in inside)
    return LiteRTDelegation(backend=backend if delegates else "none", partitions=len(delegates),
                            delegated_ops=len(inside), undelegated_ops=dict(outside))


def delegation_report(path: Path, *, threads: int = 1) -> LiteRTDelegation:
    """Load ``path`` in the LiteRT interpreter (XNNPACK on, as on a phone's CPU) and report."""
    from mobilegan.export.litert_runtime import open_interpreter

    interpreter = open_interpreter(path, threads=threads)
    return report_from_ops(interpreter._get_ops_details())  # noqa: SLF001 - the only view of the node list
