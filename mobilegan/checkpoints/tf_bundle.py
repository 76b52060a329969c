"""Read a TensorFlow V2 checkpoint bundle (``ckpt-N.index`` + ``ckpt-N.data-0000K-of-0000M``) as data.

Why not TensorFlow itself: installed next to this project's pins, ``import coremltools``
(which imports TensorFlow when it is present) segfaults (TF 2.21.0, coremltools 9.0,
torch 2.14.1), so TensorFlow cannot be an extra of this package. The bundle format is small
and has been stable since TF 1.x (``tensorflow/core/util/tensor_bundle``):

* ``.index`` is a LevelDB-style sorted table: data blocks of prefix-compressed
  ``key -> value`` entries, an index block pointing at them, a 48-byte footer ending in a
  magic number; every block is followed by a compression byte and a masked CRC-32C.
  The value under the empty key is a ``BundleHeaderProto``; every other key is a
  checkpoint key whose value is a ``BundleEntryProto`` (dtype, shape, shard, offset, size).
* ``.data-*`` shards hold the raw little-endian tensor bytes at those offsets; a string
  tensor is its element lengths (varints), a 4-byte checksum, then the bytes.
* ``_CHECKPOINTABLE_OBJECT_GRAPH`` is a string tensor holding a ``TrackableObjectGraph``
  proto: the object tree (``generator_g`` -> layers -> variables) with each variable's
  checkpoint key. It is the only reliable way to find a model's variables: with Keras 3,
  TensorFlow files every trainable variable under its optimizer's key.

Nothing here executes file content; malformed files raise :class:`CheckpointError`.
Index blocks are CRC-checked; tensor data is checked against the index's sizes (a
truncated shard is caught) but its CRC is not recomputed (pure-Python CRC-32C of hundreds
of MB would take minutes).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mobilegan.errors import CheckpointError

_MAGIC = 0xDB4775248B80FB57
_FOOTER = 48
_OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
_DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 4: "u1", 5: "<i2", 6: "i1", 9: "<i8", 10: "?", 17: "<u2", 19: "<f2", 22: "<u4", 23: "<u8"}
_DT_STRING = 7
_DT_BFLOAT16 = 14


# --- protobuf wire format (the few messages we need) ------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def parse_proto(buf: bytes) -> dict[int, list[Any]]:
    """Field number -> values (ints for varint/fixed fields, bytes for length-delimited ones)."""
    fields: dict[int, list[Any]] = {}
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
            if pos > len(buf):
                raise ValueError("truncated field")
        elif wire == 5:
            value, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def _one(fields: dict[int, list[Any]], number: int, default: Any = 0) -> Any:
    values = fields.get(number)
    return values[-1] if values else default


# --- CRC-32C (for the small index blocks) -------------------------------------------------------


def _crc_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _unmask(masked: int) -> int:
    rot = (masked - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


# --- the sorted table in .index -------------------------------------------------------------------


def _block(buf: bytes, offset: int, size: int) -> bytes:
    end = offset + size
    if end + 5 > len(buf):
        raise ValueError("block past the end of the file")
    contents, kind = buf[offset:end], buf[end]
    if kind != 0:
        raise ValueError(f"compressed table blocks (type {kind}) are not supported")
    (masked,) = struct.unpack_from("<I", buf, end + 1)
    if crc32c(buf[offset : end + 1]) != _unmask(masked):
        raise ValueError("block checksum mismatch")
    return contents


def _entries(block: bytes) -> list[tuple[bytes, bytes]]:
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 * (restarts + 1)
    out: list[tuple[bytes, bytes]] = []
    key = b""
    pos = 0
    while pos < limit:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        size, pos = _varint(block, pos)
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        out.append((key, block[pos : pos + size]))
        pos += size
    return out


def read_table(buf: bytes) -> list[tuple[bytes, bytes]]:
    """All ``(key, value)`` pairs of a LevelDB-format table, in key order."""
    if len(buf) < _FOOTER:
        raise ValueError("too short for a table footer")
    footer = buf[-_FOOTER:]
    if struct.unpack_from("<Q", footer, 40)[0] != _MAGIC:
        raise ValueError("bad magic number")
    pos = 0
    _meta_off, pos = _varint(footer, pos)
    _meta_size, pos = _varint(footer, pos)
    index_off, pos = _varint(footer, pos)
    index_size, pos = _varint(footer, pos)
    pairs: list[tuple[bytes, bytes]] = []
    for _last_key, handle in _entries(_block(buf, index_off, index_size)):
        offset, hpos = _varint(handle, 0)
        size, _ = _varint(handle, hpos)
        pairs.extend(_entries(_block(buf, offset, size)))
    return pairs


# --- the bundle -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BundleEntry:
    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    sliced: bool


def _entry(value: bytes) -> BundleEntry:
    fields = parse_proto(value)
    shape: list[int] = []
    if 2 in fields:
        for dim in parse_proto(_one(fields, 2, b"")).get(2, []):
            shape.append(int(_one(parse_proto(dim), 1, 0)))
    return BundleEntry(
        dtype=int(_one(fields, 1)),
        shape=tuple(shape),
        shard=int(_one(fields, 3)),
        offset=int(_one(fields, 4)),
        size=int(_one(fields, 5)),
        sliced=bool(fields.get(7)),
    )


class TensorBundle:
    """Random access to the tensors of one checkpoint prefix (``.../ckpt-5``)."""

    def __init__(self, prefix: Path) -> None:
        self.prefix = prefix
        index = Path(f"{prefix}.index")
        try:
            pairs = read_table(index.read_bytes())
        except (ValueError, struct.error, IndexError) as exc:
            raise CheckpointError(f"{index}: not a readable TensorFlow checkpoint index ({exc})") from None
        header = dict(pairs).get(b"")
        if header is None:
            raise CheckpointError(f"{index}: not a TensorFlow checkpoint index (no bundle header)")
        head = parse_proto(header)
        self.num_shards = int(_one(head, 1, 1)) or 1
        if int(_one(head, 2, 0)) != 0:
            raise CheckpointError(f"{index}: big-endian checkpoints are not supported")
        self.entries: dict[str, BundleEntry] = {}
        for key, value in pairs:
            if key:
                try:
                    self.entries[key.decode("utf-8")] = _entry(value)
                except (ValueError, UnicodeDecodeError, struct.error) as exc:
                    raise CheckpointError(f"{index}: corrupt entry {key[:60]!r} ({exc})") from None
        self._check_shards()

    def shard_path(self, shard: int) -> Path:
        return Path(f"{self.prefix}.data-{shard:05d}-of-{self.num_shards:05d}")

    def _check_shards(self) -> None:
        needed: dict[int, int] = {}
        for entry in self.entries.values():
            needed[entry.shard] = max(needed.get(entry.shard, 0), entry.offset + entry.size)
        for shard, end in sorted(needed.items()):
            path = self.shard_path(shard)
            if not path.exists():
                raise CheckpointError(
                    f"{path.name}: missing data shard of {self.prefix.name} (a half-written or half-copied checkpoint: "
                    f"copy every {self.prefix.name}.data-* file next to {self.prefix.name}.index)"
                )
            if path.stat().st_size < end:
                raise CheckpointError(
                    f"{path}: truncated data shard ({path.stat().st_size} bytes, the index needs {end}); "
                    "the checkpoint was not fully written or copied"
                )

    def _read(self, entry: BundleEntry) -> bytes:
        """Only the entry's bytes: a tutorial checkpoint's shard is mostly optimizer slots we never read."""
        with self.shard_path(entry.shard).open("rb") as fh:
            fh.seek(entry.offset)
            raw = fh.read(entry.size)
        if len(raw) != entry.size:
            raise CheckpointError(f"{self.shard_path(entry.shard)}: truncated data shard")
        return raw

    def keys(self) -> list[str]:
        return list(self.entries)

    def tensor(self, key: str) -> np.ndarray:
        entry = self.entries.get(key)
        if entry is None:
            raise CheckpointError(f"{self.prefix}: no tensor {key!r} in the checkpoint")
        if entry.sliced:
            raise CheckpointError(f"{self.prefix}: {key!r} is saved in slices (partitioned variables are not supported)")
        raw = self._read(entry)
        if entry.dtype == _DT_BFLOAT16:
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            return bits.view(np.float32).reshape(entry.shape)
        dtype = _DTYPES.get(entry.dtype)
        if dtype is None:
            raise CheckpointError(f"{self.prefix}: {key!r} has an unsupported dtype (TF enum {entry.dtype})")
        array = np.frombuffer(raw, dtype=np.dtype(dtype))
        expected = int(np.prod(entry.shape)) if entry.shape else 1
        if array.size != expected:
            raise CheckpointError(f"{self.prefix}: {key!r} holds {array.size} values, its shape {entry.shape} needs {expected}")
        return array.reshape(entry.shape).astype(np.float32 if array.dtype.kind == "f" else array.dtype)

    def string_scalar(self, key: str) -> bytes:
        entry = self.entries.get(key)
        if entry is None or entry.dtype != _DT_STRING:
            raise CheckpointError(f"{self.prefix}: no string tensor {key!r}")
        raw = self._read(entry)
        try:
            length, pos = _varint(raw, 0)
        except ValueError:
            raise CheckpointError(f"{self.prefix}: corrupt string tensor {key!r}") from None
        pos += 4  # checksum of the lengths
        if pos + length > len(raw):
            raise CheckpointError(f"{self.prefix}: corrupt string tensor {key!r}")
        return raw[pos : pos + length]

    def object_graph(self) -> list[dict[str, Any]] | None:
        """The TrackableObjectGraph as plain dicts, or None for name-based (TF1 / Estimator) checkpoints."""
        if _OBJECT_GRAPH_KEY not in self.entries:
            return None
        try:
            return parse_object_graph(self.string_scalar(_OBJECT_GRAPH_KEY))
        except (ValueError, UnicodeDecodeError, struct.error) as exc:
            raise CheckpointError(f"{self.prefix}: corrupt object graph ({exc})") from None


def parse_object_graph(buf: bytes) -> list[dict[str, Any]]:
    """Nodes as ``{"children": [(local_name, node_id)], "attributes": {name: checkpoint_key}}``."""
    nodes = []
    for raw in parse_proto(buf).get(1, []):
        node = parse_proto(raw)
        children = []
        for ref in node.get(1, []):
            fields = parse_proto(ref)
            children.append((_one(fields, 2, b"").decode("utf-8"), int(_one(fields, 1, 0))))
        attributes = {}
        for attr in node.get(2, []):
            fields = parse_proto(attr)
            attributes[_one(fields, 1, b"").decode("utf-8")] = _one(fields, 3, b"").decode("utf-8")
        nodes.append({"children": children, "attributes": attributes})
    return nodes
