"""Seed 003 ("Autograd", Udacity style), with `import symgrad as torch`.

The printed values of the notebook's random `x` are used as input so the first cells print
what the notebook prints; the MNIST cells run from `seed003_mnist_mlp.py` (no download).
"""
import symgrad as torch

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


# In [11]-[15]: the MNIST cells, shared with seed003_mnist_mlp.py (real MNIST IDX files when
# given, otherwise a synthetic MNIST-format set read through the same path).
import pathlib
import runpy

runpy.run_path(str(pathlib.Path(__file__).with_name("seed003_mnist_mlp.py")), run_name="__main__")
