"""`symgrad.data`: datasets and transforms in the torchvision style, with no network access.

`MNIST` reads the standard IDX files from a local directory; `load_digits` gives
scikit-learn's bundled 8 x 8 digits (optional extra `symgrad[data]`); `transforms` holds
`Compose`, `ToTensor` and `Normalize`; `read_idx`/`write_idx` handle the IDX format.
"""
from . import transforms
from .idx import read_idx, write_idx
from .digits import load_digits
from .mnist import MNIST

__all__ = ["MNIST", "load_digits", "transforms", "read_idx", "write_idx"]
