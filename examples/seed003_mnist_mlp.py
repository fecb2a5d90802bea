"""Seed 003's MNIST cells (In [13]-[15]), with `import symgrad as torch` and symgrad.data.

With the four MNIST IDX files at hand (the directory as the first argument, or in the
`SYMGRAD_MNIST` environment variable; gzipped or not, flat or in `MNIST/raw/`), this reads
MNIST itself. Without them it writes a synthetic MNIST-format set (digit-like strokes on a
blank border, 28x28 uint8) as IDX files to a temporary directory and reads that through the
same `MNIST` -> `transforms` -> `DataLoader` path. Nothing is downloaded.
"""
import os
import sys
import tempfile

import numpy as np

import symgrad as torch
from symgrad import nn
from symgrad.data import MNIST, transforms, write_idx


def synthetic_mnist(root: str, n: int = 256, seed: int = 0) -> None:
    """Write train/test IDX files of random strokes inside a 4-pixel blank border."""
    rng = np.random.default_rng(seed)
    for stem, count in (("train", n), ("t10k", n // 4)):
        images = np.zeros((count, 28, 28), dtype=np.uint8)
        for img in images:
            for _ in range(3):  # three thick strokes per image
                r0, c0, r1, c1 = rng.integers(6, 22, 4)
                for t in np.linspace(0, 1, 24):
                    r, c = int(r0 + t * (r1 - r0)), int(c0 + t * (c1 - c0))
                    img[r - 2:r + 2, c - 2:c + 2] = 255
        write_idx(os.path.join(root, f"{stem}-images-idx3-ubyte.gz"), images)
        write_idx(os.path.join(root, f"{stem}-labels-idx1-ubyte.gz"), rng.integers(0, 10, count).astype(np.uint8))


root = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SYMGRAD_MNIST")
scratch = None
if root is None:
    scratch = tempfile.TemporaryDirectory()
    root = scratch.name
    synthetic_mnist(root)
    print("MNIST files not given: using a synthetic MNIST-format set")
else:
    print(f"MNIST from {root}")

# In [13]: normalised MNIST through a DataLoader
torch.manual_seed(7)
transform = transforms.Compose([transforms.ToTensor(),
                                transforms.Normalize((0.5,), (0.5,)),
                                ])
trainset = MNIST(root, download=True, train=True, transform=transform)
trainloader = torch.utils.data.DataLoader(trainset, batch_size=64, shuffle=True)

# In [14]: a feed-forward network and its loss
model = nn.Sequential(nn.Linear(784, 128),
                      nn.ReLU(),
                      nn.Linear(128, 64),
                      nn.ReLU(),
                      nn.Linear(64, 10))
criterion = nn.CrossEntropyLoss()
images, labels = next(iter(trainloader))
images = images.view(images.shape[0], -1)
scores = model(images)
loss = criterion(scores, labels)

# In [15]
print('Before backward pass: \n', model[0].weight.grad)
loss.backward()
print('After backward pass: \n', model[0].weight.grad)
if scratch is not None:
    scratch.cleanup()
