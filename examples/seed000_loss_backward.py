"""Seed 000 ("Loss_backward"): the notebook's cells in order, with `import symgrad as torch`."""
import symgrad as torch

# In [None]: a leaf and a tracked product
x = torch.tensor([1., 2.], requires_grad=True)
y = 100 * x
print(x, y)

# In [None]: gradients of the loss w.r.t. the parameter
loss = y.sum()
print(x.grad)     # None
loss.backward()
print(x.grad)     # tensor([100., 100.])

# In [None]: the optimizer only reads .grad
optim = torch.optim.SGD([x], lr=0.001)
print(x)          # tensor([1., 2.], requires_grad=True)
optim.step()
print(x)          # tensor([0.9000, 1.9000], requires_grad=True)

# In [27]-[32]: Q = 3a^3 - b^2 with an external gradient
a = torch.tensor([2., 3.], requires_grad=True)
b = torch.tensor([6., 4.], requires_grad=True)
Q = 3 * a ** 3 - b ** 2
external_grad = torch.tensor([1., 1.])
Q.backward(gradient=external_grad)
print((a.grad, 9 * a ** 2))
print((-2 * b, b.grad))
print(9 * a ** 2 == a.grad)
print(-2 * b == b.grad)
