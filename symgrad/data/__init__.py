"""`symgrad.data`: datasets and transforms in the torchvision style, with no network access.

`MNIST` reads the standard IDX files from a local directory; `transforms` holds
`Compose`, `ToTensor` and `Normalize`; `read_idx`/`write_idx` handle the IDX format.
"""
from . import transforms
from .idx import read_idx, write_idx
from .mnist import MNIST

__all__ = ["MNIST", "transforms", "read_idx", "write_idx"]
