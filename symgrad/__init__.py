"""symgrad: a source-to-source symbolic differentiation compiler for Python, with a
PyTorch-compatible autograd runtime (`import symgrad as torch`)."""
from __future__ import annotations

__version__ = "0.1.0"

from .errors import SymgradError, CompileError, UnsupportedSyntaxError, InputError
from .dtypes import (DType as dtype, float32, float64, int64, int32, uint8, bool_ as bool,  # noqa: A004
                     float, double, long, int, get_default_dtype, set_default_dtype)
from .runtime.tensor import Tensor, Size
from .runtime.grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode,
                                is_grad_enabled, is_inference_mode_enabled)
from .runtime.random import manual_seed, seed, initial_seed, Generator, default_generator
from .runtime.creation import (tensor, as_tensor, from_numpy, zeros, ones, empty, full, zeros_like,
                               ones_like, full_like, empty_like, rand, randn, rand_like, randn_like,
                               randint, randperm, arange, linspace, eye)
from .runtime.functions import *  # noqa: F401,F403
from .runtime.functions import max, min, sum, abs, pow  # noqa: A004
from . import autograd

import importlib.abc as _abc
import importlib.util as _util
import sys as _sys
from importlib import import_module as _import_module

# Public names of runtime packages: `import symgrad.nn.functional as F` gets the very
# module objects of `symgrad.runtime.nn...` (one copy, so isinstance checks hold).
_ALIASES = {"symgrad.nn": "symgrad.runtime.nn", "symgrad.optim": "symgrad.runtime.optim",
            "symgrad.utils": "symgrad.runtime.utils"}


class _AliasFinder(_abc.MetaPathFinder, _abc.Loader):
    def find_spec(self, fullname, path, target=None):
        for alias in _ALIASES:
            if fullname == alias or fullname.startswith(alias + "."):
                return _util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        for alias, real in _ALIASES.items():
            if spec.name == alias or spec.name.startswith(alias + "."):
                return _import_module(real + spec.name[len(alias):])
        raise ImportError(spec.name)

    def exec_module(self, module):
        pass


if not any(isinstance(f, _AliasFinder) for f in _sys.meta_path):
    _sys.meta_path.insert(0, _AliasFinder())

_LAZY = {"nn": "symgrad.nn", "optim": "symgrad.optim", "utils": "symgrad.utils",
         "data": ".data", "compile_grad": ".api", "compile_module": ".api", "models": ".models"}


def __getattr__(name: str):
    # Heavy parts (the compiler, nn, optim) load on first use.
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'symgrad' has no attribute {name!r}")
    mod = _import_module(target, __name__)
    value = getattr(mod, name) if name in ("compile_grad", "compile_module") else mod
    globals()[name] = value
    return value
