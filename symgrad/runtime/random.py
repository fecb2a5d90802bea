"""The global random generator, reproducing PyTorch's CPU stream (mt19937).

`manual_seed(0); rand(3)` gives PyTorch's numbers: uniform floats take the low 24 (float32)
or 53 (float64) bits of the Mersenne Twister's output; `randn` uses Box-Muller, serially
with a cached second sample below 16 elements and in blocks of 16 above, as PyTorch does.
"""
from __future__ import annotations

import math

import numpy as np

_DEFAULT_SEED = 67280421310721


class Generator:
    """A Mersenne Twister generator with PyTorch's sampling routines."""

    def __init__(self, seed: int | None = None) -> None:
        self.manual_seed(_DEFAULT_SEED if seed is None else seed)

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self._mt = np.random.MT19937()
        self._mt._legacy_seeding(self._seed & 0xFFFFFFFF)
        self._next_normal: float | None = None
        return self

    def initial_seed(self) -> int:
        return self._seed

    def seed(self) -> int:
        s = int.from_bytes(np.random.bytes(8), "little") & ((1 << 63) - 1)
        self.manual_seed(s)
        return s

    def __repr__(self) -> str:
        return f"<symgrad._C.Generator object at {hex(id(self))}>"

    # raw draws -------------------------------------------------------------------
    def _u32(self, n: int) -> np.ndarray:
        return self._mt.random_raw(n).astype(np.uint64)

    def _u64(self, n: int) -> np.ndarray:
        r = self._u32(2 * n)
        return (r[0::2] << np.uint64(32)) | r[1::2]

    def uniform(self, n: int, dtype: np.dtype, low: float = 0.0, high: float = 1.0) -> np.ndarray:
        dtype = np.dtype(dtype)
        if dtype == np.float64:
            u = (self._u64(n) & np.uint64((1 << 53) - 1)).astype(np.float64) * 2.0 ** -53
        else:
            u = (self._u32(n) & np.uint64((1 << 24) - 1)).astype(np.float32) * np.float32(2.0 ** -24)
        if low != 0.0 or high != 1.0:
            if dtype == np.float64:
                u = u * (high - low) + low
            else:
                # PyTorch rounds the bounds to float32 and fuses the multiply-add; doing the
                # arithmetic in float64 then rounding once reproduces its bits (nn.init).
                lo, hi = np.float32(low), np.float32(high)
                u = u.astype(np.float64) * np.float64(hi - lo) + np.float64(lo)
        return u.astype(dtype, copy=False)

    def normal(self, n: int, dtype: np.dtype, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
        dtype = np.dtype(dtype)
        if n >= 16:
            return self._normal_fill(n, dtype, mean, std)
        out = np.empty(n, dtype=np.float64)
        for i in range(n):
            out[i] = self._normal_scalar() * std + mean
        return out.astype(dtype)

    def _normal_scalar(self) -> float:
        if self._next_normal is not None:
            v, self._next_normal = self._next_normal, None
            return v
        u1 = float(self.uniform(1, np.float64)[0])
        u2 = float(self.uniform(1, np.float64)[0])
        r = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        self._next_normal = r * math.sin(theta)
        return r * math.cos(theta)

    def _normal_fill(self, n: int, dtype: np.dtype, mean: float, std: float) -> np.ndarray:
        data = self.uniform(n, dtype)
        # Every block of 16 transforms only its own draws: all full blocks go at once.
        full = n - n % 16
        _fill16(data[:full].reshape(-1, 16), mean, std)
        if n % 16:
            tail = data[n - 16:]
            tail[:] = self.uniform(16, dtype)
            _fill16(tail, mean, std)
        return data

    def integers(self, low: int, high: int, n: int) -> np.ndarray:
        span = high - low
        return (self._u32(n) % np.uint64(span)).astype(np.int64) + low if span <= 2 ** 32 else \
            (self._u64(n) % np.uint64(span)).astype(np.int64) + low

    def permutation(self, n: int) -> np.ndarray:
        # PyTorch's CPU randperm for small n: a forward Fisher-Yates swap with one 32-bit draw
        # per position, so shuffles match torch's after the same seed.
        perm = list(range(n))
        if n > 1:
            r = (self._u32(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)).tolist()
            for i, z in enumerate(r):
                j = i + z
                perm[i], perm[j] = perm[j], perm[i]
        return np.array(perm, dtype=np.int64)

    def random_int64(self) -> int:
        """`empty((), dtype=int64).random_()`: a 64-bit draw reduced to [0, 2**63)."""
        return int(self._u64(1)[0] % np.uint64(1 << 63))


def _fill16(d: np.ndarray, mean: float, std: float) -> None:
    """Box-Muller over blocks of 16 along the last axis (one block, or rows of blocks)."""
    u1 = 1 - d[..., :8].astype(np.float64 if d.dtype == np.float64 else np.float32)
    u2 = d[..., 8:].copy()
    radius = np.sqrt(-2 * np.log(u1))
    theta = 2.0 * np.pi * u2
    d[..., :8] = radius * np.cos(theta) * std + mean
    d[..., 8:] = radius * np.sin(theta) * std + mean


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the global generator; later draws (`rand`, `randn`, shuffling, init) repeat."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()
