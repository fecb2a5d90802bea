"""Model definitions with torchvision's architectures and parameter names.

Models are built with random initialisation; pretrained weights are never downloaded.
Pass a local `.npz` or safetensors file of the same names to load them.
"""
from .resnet import BasicBlock, ResNet, resnet18
from .weights import load_safetensors, load_weights, save_safetensors

__all__ = ["ResNet", "BasicBlock", "resnet18", "load_weights", "load_safetensors", "save_safetensors"]
