"""The IDX file format of the MNIST distribution: read and write, gzipped or not.

Layout: two zero bytes, a type byte, a rank byte, one big-endian int32 per dimension, then
the values big-endian, row-major. A file whose name ends in `.gz` is gzip-compressed.
"""
from __future__ import annotations

import gzip
import os
import struct
from typing import Any

import numpy as np

_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CODES = {np.dtype(v).newbyteorder("="): k for k, v in _TYPES.items()}


def _open(path: Any, mode: str):
    return gzip.open(path, mode) if os.fspath(path).endswith(".gz") else open(path, mode)


def read_idx(path: Any) -> np.ndarray:
    """The array stored in an IDX file (`.gz` names are decompressed), in native byte order."""
    with _open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES:
        raise ValueError(f"{os.fspath(path)!r} is not an IDX file (bad magic number {raw[:4].hex()})")
    dtype, rank = _TYPES[raw[2]], raw[3]
    shape = struct.unpack(f">{rank}i", raw[4:4 + 4 * rank])
    data = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * rank)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{os.fspath(path)!r}: header says shape {shape} but the file holds {data.size} values")
    return data.reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: Any, array: Any) -> None:
    """Write `array` as an IDX file (gzip-compressed when the name ends in `.gz`)."""
    a = np.asarray(array)
    a = a if a.flags.c_contiguous else a.copy(order="C")
    code = _CODES.get(a.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX files cannot hold dtype {a.dtype}")
    header = bytes([0, 0, code, a.ndim]) + struct.pack(f">{a.ndim}i", *a.shape)
    with _open(path, "wb") as f:
        f.write(header + a.astype(_TYPES[code], copy=False).tobytes())
