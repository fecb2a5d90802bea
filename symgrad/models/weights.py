"""Weight files for `symgrad.models`: `.npz` archives and safetensors files, read and
written with NumPy only (no torch, no safetensors package, no network).

A safetensors file is an 8-byte little-endian header length, a JSON header mapping each
name to its dtype, shape and byte range, then the raw little-endian data.
"""
from __future__ import annotations

import json
import os
import struct
from typing import Any, Mapping

import numpy as np

_ST_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
              "I8": "i1", "U8": "u1", "BOOL": "?"}
_ST_NAMES = {np.dtype(v): k for k, v in _ST_DTYPES.items()}

PathLike = Any  # str | os.PathLike


def load_safetensors(path: PathLike) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file, as NumPy arrays (bfloat16 widened to float32)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{os.fspath(path)!r} is not a safetensors file (shorter than its 8-byte header length)")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{os.fspath(path)!r} is not a safetensors file (header length {n} exceeds the file)")
    try:
        header = json.loads(raw[8:8 + n])
    except ValueError as e:
        raise ValueError(f"{os.fspath(path)!r} is not a safetensors file (bad JSON header: {e})") from None
    data = memoryview(raw)[8 + n:]
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dt, shape = info["dtype"], tuple(info["shape"])
        buf = data[begin:end]
        if dt == "BF16":
            # bfloat16 is the top half of a float32.
            arr = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif dt in _ST_DTYPES:
            arr = np.frombuffer(buf, dtype=_ST_DTYPES[dt])
        else:
            raise ValueError(f"{os.fspath(path)!r}: tensor {name!r} has unsupported dtype {dt}")
        out[name] = arr.reshape(shape).astype(arr.dtype.newbyteorder("="), copy=True)
    return out


def save_safetensors(path: PathLike, tensors: Mapping[str, Any], metadata: Mapping[str, str] | None = None) -> None:
    """Write `tensors` (NumPy arrays or Tensors) as a safetensors file."""
    header: dict[str, Any] = {}
    blobs, offset = [], 0
    for name, value in tensors.items():
        arr = np.asarray(value)
        arr = arr if arr.flags.c_contiguous else arr.copy(order="C")  # keeps 0-d arrays 0-d
        if arr.dtype not in _ST_NAMES:
            raise ValueError(f"tensor {name!r}: dtype {arr.dtype} cannot be stored in safetensors")
        blob = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _ST_NAMES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    if metadata:
        header["__metadata__"] = dict(metadata)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to 8-byte alignment
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def load_weights(path: PathLike) -> dict[str, np.ndarray]:
    """Arrays by name from a `.npz` archive or a safetensors file (told apart by content)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"weights file {path!r} does not exist (symgrad never downloads weights)")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == b"PK\x03\x04":  # a zip archive: NumPy's .npz (a torch .pt file is a zip too)
        with np.load(path, allow_pickle=False) as z:
            if "data.pkl" in " ".join(z.files) or not z.files:
                raise ValueError(_not_readable(path))
            return {k: np.array(z[k]) for k in z.files}
    try:
        return load_safetensors(path)
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(_not_readable(path) + f" ({e})") from None


def _not_readable(path: str) -> str:
    return (f"cannot read weights from {path!r}: expected a .npz archive or a safetensors file. To convert a "
            "PyTorch state dict: np.savez('weights.npz', **{k: v.numpy() for k, v in sd.items()})")


def load_into(model: Any, path: PathLike) -> None:
    """Load a weights file into `model` with `load_state_dict` (strict names, shape checks);
    a missing `num_batches_tracked` keeps the model's value, as PyTorch's BatchNorm does."""
    from ..runtime.tensor import Tensor
    state = {k: Tensor._wrap(v) for k, v in load_weights(path).items()}
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = value
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise RuntimeError(f"weights file {os.fspath(path)!r} does not fit {type(model).__name__}: {e}") from None
