"""Seed 001 ("A Gentle Introduction to Autograd"), with `import symgrad as torch`.

The notebook loads a pretrained torchvision resnet18; here a small convolution-free
classifier with the same input and output shapes stands in for it (no network, no
torchvision). The autograd and optimizer contract is the same.
"""
import symgrad as torch
from symgrad import nn

torch.manual_seed(0)

# In [2]: a model, a random image and random labels
model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 64 * 64, 64), nn.ReLU(), nn.Linear(64, 1000))
data = torch.rand(1, 3, 64, 64)
labels = torch.rand(1, 1000)

# In [3]: forward pass
prediction = model(data)

# In [4]: backward pass
loss = (prediction - labels).sum()
loss.backward()

# In [5]-[6]: SGD with momentum, one step
optim = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
before = model[1].weight.detach().clone()
optim.step()
print("prediction:", tuple(prediction.shape), "loss:", round(loss.item(), 4))
print("first-layer weight moved by lr * grad:",
      torch.allclose(before - 1e-2 * model[1].weight.grad, model[1].weight.detach(), atol=1e-6))

# In [7]-[10]: differentiation in autograd
a = torch.tensor([2., 3.], requires_grad=True)
b = torch.tensor([6., 4.], requires_grad=True)
Q = 3 * a ** 3 - b ** 2
external_grad = torch.tensor([1., 1.])
Q.backward(gradient=external_grad)
print(9 * a ** 2 == a.grad)
print(-2 * b == b.grad)
