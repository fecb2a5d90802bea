"""ResNet-18 with torchvision's exact architecture, parameter names and initialisation.

`resnet18()` builds the network randomly initialised; it never downloads anything. A
`weights=` path to a `.npz` or safetensors file with torchvision's state-dict names
(`conv1.weight`, `layer1.0.bn1.running_mean`, ..., `fc.bias`) loads those values, so a
state dict saved from torchvision maps one to one.
"""
from __future__ import annotations

from typing import Any

from ..runtime.functions import flatten
from ..runtime.nn import (AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, Module, ReLU,
                          Sequential, init)
from ..runtime.tensor import Tensor
from .weights import load_into


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> Conv2d:
    """3x3 convolution with padding, no bias."""
    return Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, groups=groups,
                  bias=False, dilation=dilation)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> Conv2d:
    """1x1 convolution, no bias."""
    return Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(Module):
    """Two 3x3 conv-BN stages and a residual connection (projected when shapes change)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = BatchNorm2d(planes)
        self.relu = ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(Module):
    """torchvision's ResNet for `BasicBlock` stacks (conv1/bn1/maxpool, layer1-4, avgpool, fc)."""

    def __init__(self, block: type = BasicBlock, layers: tuple[int, ...] = (2, 2, 2, 2), num_classes: int = 1000,
                 zero_init_residual: bool = False) -> None:
        super().__init__()
        self.inplanes = 64
        self.conv1 = Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = BatchNorm2d(self.inplanes)
        self.relu = ReLU(inplace=True)
        self.maxpool = MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.fc = Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, BatchNorm2d):
                init.constant_(m.weight, 1)
                init.constant_(m.bias, 0)
        if zero_init_residual:
            # Each residual branch starts as zero, so every block starts as the identity.
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block: type, planes: int, blocks: int, stride: int = 1) -> Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                    BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(flatten(self.avgpool(x), 1))


def resnet18(num_classes: int = 1000, weights: Any = None, **kwargs: Any) -> ResNet:
    """ResNet-18 (torchvision's layout). Randomly initialised unless `weights` names a local
    `.npz` or safetensors file of torchvision state-dict names; nothing is ever downloaded,
    so `pretrained=True` is refused with instructions instead."""
    if kwargs.pop("pretrained", False) or isinstance(weights, str) and weights.upper().startswith("IMAGENET"):
        raise ValueError("symgrad never downloads weights: save torchvision's resnet18 state dict to a file "
                         "(np.savez('resnet18.npz', **{k: v.numpy() for k, v in model.state_dict().items()})) "
                         "and pass resnet18(weights='resnet18.npz')")
    model = ResNet(BasicBlock, (2, 2, 2, 2), num_classes=num_classes, **kwargs)
    if weights is not None:
        load_into(model, weights)
    return model
