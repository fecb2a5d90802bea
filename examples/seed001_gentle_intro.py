"""Seed 001 ("A Gentle Introduction to Autograd"), with `import symgrad as torch`.

The notebook loads torchvision's pretrained resnet18; here `symgrad.models.resnet18()` has
the same architecture and parameter names, randomly initialised because nothing is ever
downloaded. Pass a weights file (`.npz` or safetensors, torchvision's state-dict names) to
load it: `python examples/seed001_gentle_intro.py resnet18.safetensors`.
"""
import sys

import symgrad as torch

torch.manual_seed(0)

# In [2]: the model, a random image and random labels
weights = sys.argv[1] if len(sys.argv) > 1 else None
model = torch.models.resnet18(weights=weights)
data = torch.rand(1, 3, 64, 64)
labels = torch.rand(1, 1000)

# In [3]: forward pass
prediction = model(data)

# In [4]: backward pass
loss = (prediction - labels).sum()
loss.backward()

# In [5]-[6]: SGD with momentum, one step
optim = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
before = model.conv1.weight.detach().clone()
optim.step()
print("prediction:", tuple(prediction.shape), "loss:", round(loss.item(), 4))
print("first-layer weight moved by lr * grad:",
      torch.allclose(before - 1e-2 * model.conv1.weight.grad, model.conv1.weight.detach(), atol=1e-6))

# In [7]-[10]: differentiation in autograd
a = torch.tensor([2., 3.], requires_grad=True)
b = torch.tensor([6., 4.], requires_grad=True)
Q = 3 * a ** 3 - b ** 2
external_grad = torch.tensor([1., 1.])
Q.backward(gradient=external_grad)
print(9 * a ** 2 == a.grad)
print(-2 * b == b.grad)
