"""Seed 003 ("Autograd", Udacity style), with `import symgrad as torch`.

The notebook downloads MNIST; here a synthetic MNIST-like set stands in (28x28 images
whose border pixels are -1 after Normalize((0.5,), (0.5,)), as in MNIST), loaded through
the same `TensorDataset`/`DataLoader` path. The printed values of the notebook's random
`x` are used as input so the first cells print what the notebook prints.
"""
import numpy as np

import symgrad as torch
from symgrad import nn

# In [2]
x = torch.tensor([[1.0606, -0.1873], [1.7177, -1.3912]], requires_grad=True)
print(x)
# In [3]
y = x ** 2
print(y)
# In [4]
print(y.grad_fn)
# In [5]
z = y.mean()
print(z)
# In [6]: a non-leaf has no .grad (PyTorch also warns)
import warnings
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    print(z.grad)
# In [7]-[9]
z.backward()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    print(z.grad)
print(x.grad)
print(x / 2)


def synthetic_mnist(n: int = 256, seed: int = 0):
    """Images in [-1, 1] with a blank (-1) border, like normalised MNIST digits."""
    rng = np.random.default_rng(seed)
    images = -np.ones((n, 1, 28, 28), dtype=np.float32)
    images[:, :, 4:24, 4:24] = rng.uniform(-1, 1, (n, 1, 20, 20)).astype(np.float32)
    labels = rng.integers(0, 10, n)
    return torch.tensor(images), torch.tensor(labels)


# In [13]: data through a DataLoader
torch.manual_seed(7)
images_all, labels_all = synthetic_mnist()
trainset = torch.utils.data.TensorDataset(images_all, labels_all)
trainloader = torch.utils.data.DataLoader(trainset, batch_size=64, shuffle=True)

# In [14]: a feed-forward network and its loss
model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
criterion = nn.CrossEntropyLoss()
images, labels = next(iter(trainloader))
images = images.view(images.shape[0], -1)
scores = model(images)
loss = criterion(scores, labels)

# In [15]
print('Before backward pass: \n', model[0].weight.grad)
loss.backward()
print('After backward pass: \n', model[0].weight.grad)
