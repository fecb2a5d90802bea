"""`load_digits()`: scikit-learn's bundled 8 x 8 handwritten digits as symgrad tensors.

The 1,797 images ship inside scikit-learn's wheel, so nothing is downloaded. scikit-learn
is an optional extra (`pip install "symgrad[data]"`); without it `load_digits` raises an
`ImportError` that names the extra.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..dtypes import to_dtype
from ..runtime.tensor import Tensor

EXTRA_HINT = ('symgrad.data.load_digits() needs scikit-learn, which is an optional extra: '
              'pip install "symgrad[data]"  (or: pip install scikit-learn)')


def have_digits() -> bool:
    """True when scikit-learn (and so the digits data) is installed."""
    try:
        import sklearn.datasets  # noqa: F401
    except ImportError:
        return False
    return True


def load_digits(*, flatten: bool = False, normalize: bool = True,
                dtype: Any = None) -> tuple[Tensor, Tensor]:
    """`(images, labels)`: float32 images of shape (1797, 8, 8) and int64 labels 0-9.

    Pixels are integers 0-16 in the source; `normalize=True` (the default) divides them by
    16, giving values in [0, 1]. `flatten=True` gives images of shape (1797, 64). `dtype`
    picks another float dtype (e.g. `symgrad.float64`). The order is scikit-learn's.
    """
    try:
        from sklearn.datasets import load_digits as _sk_load
    except ImportError as e:
        raise ImportError(EXTRA_HINT) from e
    bunch = _sk_load()
    np_dtype = np.float32 if dtype is None else to_dtype(dtype).np
    if np.dtype(np_dtype).kind != "f":
        raise TypeError(f"load_digits(dtype=...) must be a floating point dtype, got {dtype}")
    images = np.asarray(bunch.images, dtype=np.float64)
    if normalize:
        images = images / 16.0
    images = images.astype(np_dtype)
    if flatten:
        images = images.reshape(images.shape[0], -1)
    labels = np.asarray(bunch.target, dtype=np.int64)
    return Tensor._wrap(np.ascontiguousarray(images)), Tensor._wrap(labels)
