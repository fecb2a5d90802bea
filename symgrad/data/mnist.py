"""`MNIST(root, train=True, transform=None)`: the MNIST digits from their four IDX files.

Nothing is downloaded, ever: the files (gzipped or not) must already be in `root` or in
`root/MNIST/raw` (torchvision's layout). When they are absent the error names each
missing file and where to put it. Images are uint8 28 x 28 NumPy arrays (torchvision's PIL
images), so `transforms.ToTensor()` gives float32 1 x 28 x 28 tensors in [0, 1].
"""
from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from ..runtime.tensor import Tensor
from ..runtime.utils.data import Dataset
from .idx import read_idx

FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def _find(dirs: list[str], name: str) -> str | None:
    for d in dirs:
        for candidate in (name, name + ".gz"):
            path = os.path.join(d, candidate)
            if os.path.isfile(path):
                return path
    return None


class MNIST(Dataset):
    """The MNIST training (60,000) or test (10,000) digits; items are (image, int label)."""

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root: Any, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        # `download` is accepted so tutorials run unchanged; the files must be present anyway.
        self.root = os.path.expanduser(os.fspath(root))
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        dirs = [self.root, os.path.join(self.root, "MNIST", "raw")]
        names = FILES[bool(train)]
        paths = [_find(dirs, n) for n in names]
        if None in paths:
            raise FileNotFoundError(self._missing_message(dirs, names, paths))
        images, labels = (read_idx(p) for p in paths)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(f"{paths[0]!r} should hold uint8 images (N, rows, cols); it holds {images.dtype} "
                             f"{images.shape}")
        if labels.shape != images.shape[:1]:
            raise ValueError(f"{paths[1]!r} holds {labels.shape} labels for {images.shape[0]} images")
        self.data = Tensor._wrap(images)
        self.targets = Tensor._wrap(labels.astype(np.int64))

    @staticmethod
    def _missing_message(dirs: list[str], names: tuple[str, ...], paths: list[str | None]) -> str:
        missing = [n for n, p in zip(names, paths) if p is None]
        wanted = "\n".join(f"    {n}[.gz]" for names_ in FILES.values() for n in names_)
        return (f"MNIST files not found: {', '.join(missing)} (looked in {dirs[0]!r} and {dirs[1]!r}). "
                f"symgrad never downloads data; put the standard MNIST IDX files, gzipped or not, in either "
                f"directory:\n{wanted}")

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img = self.data._data[index]
        target: Any = int(self.targets._data[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def __repr__(self) -> str:
        lines = [f"Number of datapoints: {len(self)}", f"Root location: {self.root}",
                 f"Split: {'Train' if self.train else 'Test'}"]
        if self.transform is not None:
            lines.append("StandardTransform\nTransform: " + repr(self.transform).replace("\n", "\n" + " " * 11))
        return "Dataset MNIST\n" + "\n".join("    " + ln for ln in lines)
