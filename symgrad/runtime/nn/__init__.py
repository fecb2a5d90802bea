"""`symgrad.nn`: PyTorch-compatible modules, losses, `functional` and `init`."""
from __future__ import annotations

from . import functional, init, utils
from .batchnorm import BatchNorm1d, BatchNorm2d
from .containers import ModuleDict, ModuleList, Sequential
from .conv import Conv2d
from .layers import (Dropout, Flatten, Identity, LeakyReLU, Linear, LogSoftmax, ReLU, Sigmoid, Softmax,
                     Tanh)
from .loss import CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, Parameter
from .pooling import AdaptiveAvgPool2d, MaxPool2d

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "Identity", "Linear", "ReLU",
           "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Flatten", "Dropout", "MSELoss",
           "L1Loss", "NLLLoss", "CrossEntropyLoss", "functional", "init", "utils", "Conv2d", "BatchNorm1d",
           "BatchNorm2d", "MaxPool2d", "AdaptiveAvgPool2d"]
