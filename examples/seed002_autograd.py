"""Seed 002 ("Autograd"): the notebook's cells in order, with `import symgrad as torch`.

The notebook draws x with `torch.randn(3)` and no seed; its printed values are used as
the input here so that every printed line can be compared with the notebook's.
"""
import symgrad as torch

# In [2]
x = torch.tensor([-0.0197, 0.9841, -0.2759], requires_grad=True)
print(x)
# In [3]-[4]
y = x + 2
print(y)
# In [5]
z = y * y * 2
print(z)
# In [6]
z_mean = z.mean()
print(z_mean)
# In [7]: retain the graph for the vector-Jacobian product below
z_mean.backward(retain_graph=True)
print(x.grad)
# In [9]: a vector-Jacobian product
v = torch.tensor([0.1, 1.0, 0.001], dtype=torch.float32)
z.backward(v)
# In [10]-[14]: three ways to stop tracking
print(x)
print(x.detach())
print(y)
with torch.no_grad():
    y = x + 2
    print(y)

# In [15]: gradients accumulate unless zeroed
weights = torch.ones(4, requires_grad=True)
for epoch in range(5):
    model_output = (weights * 3).sum()
    model_output.backward()
    print(weights.grad)
    weights.grad.zero_()

# In [16]: the optimizer way
weights = torch.ones(4, requires_grad=True)
optimizer = torch.optim.SGD([weights], lr=0.01)
optimizer.step()
optimizer.zero_grad()

# In [17]: linear regression by hand
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y_true = torch.tensor([2.0], dtype=torch.float32)
# The notebook's w and b came from randn; these give the same printed gradients.
w = torch.tensor([0.1, -0.5, -0.3], requires_grad=True)  # Weights
b = torch.tensor([0.069775], requires_grad=True)  # Bias


def model(x):
    return torch.sum(w * x) + b


def loss_fn(y_pred, y_true):
    return torch.mean((y_pred - y_true) ** 2)


y_pred = model(x)
loss = loss_fn(y_pred, y_true)
loss.backward()
print("Gradients w.r.t. weights (w):", w.grad)
print("Gradient w.r.t. bias (b):", b.grad)
