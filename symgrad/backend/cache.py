"""On-disk cache of compiled native code and every stage's text.

Location: `$SYMGRAD_CACHE_DIR`, else `$XDG_CACHE_HOME/symgrad`, else `~/.cache/symgrad`.
One file per key, named by the key's hash. Format (no pickles, so a foreign file can never
run code):

    b"SYMGRADC" | u32 format version | u64 header length | UTF-8 JSON header
                | u64 payload length | payload (object code) | 32-byte SHA-256 of all before

The header holds the full key (a file whose key differs is foreign), the native ABI and the
stage texts. Writes go to a temporary file renamed into place, so readers never see half a
file. Any unreadable entry is a miss with a `warnings.warn`, never an exception.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .jit import host

if TYPE_CHECKING:
    from .native import NativeFunction

MAGIC = b"SYMGRADC"
FORMAT_VERSION = 1
SUFFIX = ".sgc"
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
# Refuse absurd lengths before allocating (a bit flip in a length field).
_MAX_PART = 1 << 30


class CacheWarning(UserWarning):
    """An on-disk cache entry was unusable and is being recompiled."""


@dataclass
class Entry:
    """What the cache holds for one key."""

    key: str
    object_code: bytes
    abi: dict[str, Any]
    texts: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def cache_dir() -> Path:
    """The cache directory (not created here)."""
    env = os.environ.get("SYMGRAD_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "symgrad"


def _version() -> str:
    from .. import __version__
    return __version__


def _canonical(value: Any) -> Any:
    """A JSON-able, exact rendering of a closure constant (floats by repr: round-trips)."""
    import numpy as np
    if isinstance(value, (bool, np.bool_)):
        return ["b", bool(value)]
    if isinstance(value, (int, np.integer)):
        return ["i", int(value)]
    if isinstance(value, (float, np.floating)):
        return ["f", repr(float(value)), str(np.asarray(value).dtype)]
    if isinstance(value, complex):
        return ["c", repr(value)]
    if isinstance(value, str):
        return ["s", value]
    if value is None:
        return ["n"]
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        return ["a", str(arr.dtype), list(arr.shape), hashlib.sha256(arr.tobytes()).hexdigest()]
    if isinstance(value, (list, tuple)):
        return ["t" if isinstance(value, tuple) else "l", [_canonical(v) for v in value]]
    if isinstance(value, dict):
        return ["d", sorted([[repr(k), _canonical(v)] for k, v in value.items()])]
    # Functions, modules and the like: their qualified name (their source is hashed apart).
    return ["o", f"{type(value).__module__}.{getattr(value, '__qualname__', type(value).__qualname__)}"]


def make_key(*, source: str, signature: str, constants: dict[str, Any] | None = None,
             options: dict[str, Any] | None = None) -> str:
    """Hex key over the source hash, closure constants, signature, options, versions and CPU."""
    h = host()
    fields = {
        "source": hashlib.sha256(source.encode()).hexdigest(),
        "constants": sorted([k, _canonical(v)] for k, v in (constants or {}).items()),
        "signature": signature,
        "options": sorted([k, _canonical(v)] for k, v in (options or {}).items()),
        "symgrad": _version(), "format": FORMAT_VERSION,
        "llvmlite": h.llvmlite_version, "llvm": h.llvm_version,
        "triple": h.triple, "cpu": h.cpu, "features": h.features, "libmvec": h.libmvec,
    }
    blob = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def path_for(key: str) -> Path:
    return cache_dir() / f"{key[:40]}{SUFFIX}"


def encode(entry: Entry) -> bytes:
    header = json.dumps({"key": entry.key, "abi": entry.abi, "texts": entry.texts,
                         "meta": entry.meta, "symgrad": _version()},
                        sort_keys=True).encode()
    body = b"".join([MAGIC, _U32.pack(FORMAT_VERSION), _U64.pack(len(header)), header,
                     _U64.pack(len(entry.object_code)), entry.object_code])
    return body + hashlib.sha256(body).digest()


def decode(data: bytes) -> Entry:
    """Parse an entry; raises ValueError saying what is wrong with it."""
    if len(data) < len(MAGIC) + _U32.size:
        raise ValueError("truncated or empty file")
    if data[:len(MAGIC)] != MAGIC:
        raise ValueError("not a symgrad cache file")
    (version,) = _U32.unpack_from(data, len(MAGIC))
    if version != FORMAT_VERSION:
        raise ValueError(f"cache format version {version}, this symgrad reads {FORMAT_VERSION}")
    if len(data) < 32 or hashlib.sha256(data[:-32]).digest() != data[-32:]:
        raise ValueError("checksum mismatch (truncated or corrupted)")
    pos = len(MAGIC) + _U32.size
    parts = []
    for _ in range(2):
        (n,) = _U64.unpack_from(data, pos)
        pos += _U64.size
        if n > _MAX_PART or pos + n > len(data) - 32:
            raise ValueError("bad length field")
        parts.append(data[pos:pos + n])
        pos += n
    if pos != len(data) - 32:
        raise ValueError("trailing bytes")
    header = json.loads(parts[0].decode())
    if not isinstance(header, dict) or not isinstance(header.get("key"), str):
        raise ValueError("malformed header")
    if header.get("symgrad") != _version():
        raise ValueError(f"written by symgrad {header.get('symgrad')}, this is {_version()}")
    abi, texts, meta = header.get("abi"), header.get("texts", {}), header.get("meta", {})
    if not isinstance(abi, dict) or not isinstance(texts, dict) or not isinstance(meta, dict):
        raise ValueError("malformed header")
    return Entry(header["key"], bytes(parts[1]), abi, texts, meta)


def load(key: str) -> Entry | None:
    """The entry for `key`, or None (a miss). Unusable files warn and count as misses."""
    path = path_for(key)
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        warnings.warn(f"symgrad cache: cannot read {path}: {e}; recompiling", CacheWarning,
                      stacklevel=2)
        return None
    try:
        entry = decode(data)
        if entry.key != key:
            raise ValueError("entry belongs to another key")
    except (ValueError, UnicodeDecodeError, struct.error) as e:
        warnings.warn(f"symgrad cache: ignoring {path}: {e}; recompiling", CacheWarning,
                      stacklevel=2)
        return None
    return entry


def store(entry: Entry) -> Path | None:
    """Write `entry` atomically. Returns its path, or None if the cache is not writable."""
    path = path_for(entry.key)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=SUFFIX, dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(encode(entry))
        os.replace(tmp, path)
        return path
    except OSError as e:
        # A read-only or full disk must not break compilation: the cache is an optimisation.
        warnings.warn(f"symgrad cache: cannot write {path}: {e}", CacheWarning, stacklevel=2)
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return None


# Object code already in this process's JIT (with its stage texts), by key: loading it
# twice would clash.
_loaded: dict[str, tuple["NativeFunction", dict[str, str]]] = {}
_loaded_lock = threading.Lock()


def lookup(key: str) -> tuple["NativeFunction", dict[str, str]] | None:
    """The native function and stage texts cached under `key`, or None (then compile)."""
    with _loaded_lock:
        hit = _loaded.get(key)
        # Only while the current cache directory holds the entry: after SYMGRAD_CACHE_DIR
        # changes (or `symgrad cache clear`) a compile is a compile, and it fills that directory.
        if hit is not None and path_for(key).exists():
            return hit[0], dict(hit[1])
        entry = load(key)
        if entry is None:
            return None
        from .native import load_object
        try:
            native = load_object(entry.abi, entry.object_code, entry.texts)
        except Exception as e:  # noqa: BLE001 - a bad entry must only cost a recompile
            warnings.warn(f"symgrad cache: cannot load {path_for(key)}: {e}; recompiling",
                          CacheWarning, stacklevel=2)
            return None
        native.timings["cache_hit"] = 1.0
        _loaded[key] = (native, dict(entry.texts))
        return native, dict(entry.texts)


def save(key: str, native: "NativeFunction", texts: dict[str, str] | None = None,
         meta: dict[str, Any] | None = None) -> Path | None:
    """Store a freshly compiled function with every stage's text (`inspect` after a hit)."""
    if not native.object_code:
        return None
    all_texts = {**(texts or {}), **native.texts}
    with _loaded_lock:
        _loaded[key] = (native, all_texts)
    return store(Entry(key, native.object_code, native.abi, all_texts, dict(meta or {})))


def info() -> dict[str, Any]:
    """Directory, entry count and total size, for `symgrad cache info`."""
    d = cache_dir()
    files = sorted(f for f in d.glob(f"*{SUFFIX}") if not f.name.startswith(".")) \
        if d.is_dir() else []
    return {"dir": str(d), "entries": len(files),
            "bytes": sum(f.stat().st_size for f in files if f.is_file()),
            "host": f"{host().cpu} ({host().triple})"}


def clear() -> int:
    """Delete every entry (and stale temporaries); returns how many entries were removed."""
    d = cache_dir()
    if not d.is_dir():
        return 0
    n = 0
    for f in set(d.glob(f"*{SUFFIX}")) | set(d.glob(f".tmp-*{SUFFIX}")):
        try:
            f.unlink()
            n += not f.name.startswith(".tmp-")
        except OSError:
            pass
    return n
