"""The eager, PyTorch-compatible autograd runtime."""
