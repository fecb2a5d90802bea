"""`symgrad.data.load_digits`: scikit-learn's bundled digits, and the error without the extra."""
import builtins
import sys

import numpy as np
import pytest

import symgrad
from symgrad.data import load_digits


def test_digits_shapes_dtypes_and_normalisation():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits as sk
    x, y = load_digits()
    assert x.shape == symgrad.Size([1797, 8, 8]) and x.dtype is symgrad.float32
    assert y.shape == symgrad.Size([1797]) and y.dtype is symgrad.int64
    ref = sk()
    np.testing.assert_array_equal(x.numpy(), (ref.images / 16.0).astype(np.float32))
    np.testing.assert_array_equal(y.numpy(), ref.target)
    assert 0.0 <= x.min().item() and x.max().item() == 1.0
    xf, _ = load_digits(flatten=True, normalize=False, dtype=symgrad.float64)
    assert xf.shape == symgrad.Size([1797, 64]) and xf.dtype is symgrad.float64
    assert xf.max().item() == 16.0
    assert not x.requires_grad and x.is_leaf


def test_digits_without_sklearn_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    for mod in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(ImportError, match=r'pip install "symgrad\[data\]"'):
        load_digits()
    from symgrad.data.digits import have_digits
    assert have_digits() is False
