"""`Tensor`: a NumPy array with PyTorch's autograd behaviour.

Every operation goes through `Tensor._apply`, which runs the registry primitive's NumPy
implementation with PyTorch's dtype promotion and, when grad mode is on and an input
requires grad, records a `PrimNode` named like PyTorch's. The PyTorch-named methods live
in `methods.py`; in-place operations in `inplace.py`.
"""
from __future__ import annotations

import warnings
from numbers import Number
from typing import Any, Callable

import numpy as np

from .. import dtypes, prims
from ..ops import OpsMixin
from . import autograd, grad_mode
from .methods import TensorMethods
from .inplace import InplaceMethods


class Size(tuple):
    """A tensor's shape: a tuple that prints as `symgrad.Size([2, 3])`."""

    def __repr__(self) -> str:
        return f"symgrad.Size({list(self)})"

    __str__ = __repr__

    def numel(self) -> int:
        n = 1
        for d in self:
            n *= d
        return n


_INFERENCE_SAVE = ("Inference tensors cannot be saved for backward. Please do not use Tensors created "
                   "in inference mode in computation tracked by autograd. To work around this, you can "
                   "make a clone to get a normal tensor and use it in autograd, or use `symgrad.no_grad()` "
                   "instead of `symgrad.inference_mode()`.")
_float_warned = False


class Tensor(TensorMethods, InplaceMethods, OpsMixin):
    """A multi-dimensional array that can record the operations applied to it."""

    __slots__ = ("_data", "_requires_grad", "_grad", "grad_fn", "_version", "_retains_grad",
                 "_hooks", "_accumulator", "_base", "_inference", "__weakref__", "__dict__")

    def __init__(self, data: Any = (), *, dtype: Any = None, requires_grad: bool = False) -> None:
        arr = np.asarray(data)
        if dtype is not None:
            arr = arr.astype(dtypes.to_dtype(dtype).np)
        elif arr.dtype.kind == "f" and not isinstance(data, np.ndarray):
            arr = arr.astype(dtypes.get_default_dtype().np)
        self._init(arr)
        if requires_grad:
            self.requires_grad = True

    def _init(self, arr: np.ndarray) -> None:
        self._data = arr
        self._requires_grad = False
        self._grad: Tensor | None = None
        self.grad_fn: autograd.Node | None = None
        self._version = [0]
        self._retains_grad = False
        self._hooks: list[Callable] = []
        self._accumulator = None
        self._base: Tensor | None = None
        self._inference = grad_mode.is_inference_mode_enabled()

    @classmethod
    def _wrap(cls, arr: Any) -> "Tensor":
        t = object.__new__(Tensor)
        a = np.asarray(arr)
        if a.dtype not in _SUPPORTED:
            a = a.astype(dtypes.from_numpy(a.dtype).np)
        t._init(a)
        return t

    # ------------------------------------------------------------------ the one entry point
    @classmethod
    def _apply(cls, prim_name: str, args: tuple, params: dict, torch_name: str | None = None) -> "Tensor":
        p = prims.get(prim_name)
        args = tuple(a if isinstance(a, (Tensor, Number)) or a is None else Tensor._wrap(_as_array(a))
                     for a in args)
        arrays, rd = _promoted_arrays(p, args)
        with np.errstate(all="ignore"):
            raw = p.impl(*arrays, **params)
        out = Tensor._wrap(raw)
        if p.kind == "elementwise" and out._data.dtype != rd.np:
            out._data = out._data.astype(rd.np)
        if p.extra.get("view") or (p.kind == "shape" and _shares(raw, arrays)):
            base = args[0]
            out._version = base._version
            out._base = base._base if base._base is not None else base
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        if not p.differentiable and any(needs) and grad_mode.is_grad_enabled() \
                and out.dtype.is_floating_point:
            # A backward helper reached with create_graph=True: refuse, never drop the graph.
            raise RuntimeError(f"symgrad: the derivative of '{p.name}' is not implemented "
                               "(higher-order gradients through this operation are not supported)")
        if p.differentiable and any(needs) and grad_mode.is_grad_enabled():
            _check_inference(p, args)
            node = autograd.node_class(torch_name or p.torch_name(args, params))(p, args, out, params, needs)
            out.grad_fn = node
            out._requires_grad = True
        return out

    # ------------------------------------------------------------------ metadata
    @property
    def data(self) -> "Tensor":
        # Shares memory, not the version counter: changes through .data escape autograd.
        t = Tensor._wrap(self._data)
        return t

    @data.setter
    def data(self, value: "Tensor") -> None:
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def dtype(self) -> dtypes.DType:
        return dtypes.from_numpy(self._data.dtype)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if self.grad_fn is not None:
            if not flag:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to use a "
                    "computed variable in a subgraph that doesn't require differentiation use "
                    "var_no_grad = var.detach().")
            return
        if flag and not self.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = bool(flag)

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    @property
    def _version_value(self) -> int:
        return self._version[0]

    @property
    def grad(self) -> "Tensor | None":
        if self.grad_fn is not None and not self._retains_grad:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
                "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
                "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
                "instead. See github.com/pytorch/pytorch/pull/30531 for more information.",
                UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        if value is not None:
            if tuple(value.shape) != tuple(self.shape):
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor of size "
                    f"'{list(self.shape)}'. Please ensure that the gradient and the tensor are the same size")
            if value.dtype is not self.dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{value.dtype.c_name}' to a tensor with "
                    f"grad_dtype '{self.dtype.short}'. The gradient must match the tensor's grad_dtype "
                    "(defaults to the tensor's dtype). You can set the tensor's grad_dtype attribute with "
                    "a specific dtype, or None to allow any dtype. Set grad_dtype with caution. Diverging "
                    "the dtypes of a tensor and its gradient may break downstream systems that assume "
                    "they match.")
        self._grad = value

    @property
    def _version_counter(self) -> int:
        return self._version[0]

    def is_inference(self) -> bool:
        return self._inference

    # ------------------------------------------------------------------ autograd API
    def backward(self, gradient: "Tensor | None" = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (PyTorch's semantics)."""
        from .functional_autograd import backward
        backward([self], gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    def retain_grad(self) -> None:
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self._retains_grad:
            return
        self._retains_grad = True
        import weakref
        self.grad_fn.retained = weakref.ref(self)

    def register_hook(self, hook: Callable) -> autograd.RemovableHandle:
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn.register_hook(hook)
        self._hooks.append(hook)
        return autograd.RemovableHandle(self._hooks, hook)

    def detach(self) -> "Tensor":
        t = Tensor._wrap(self._data)
        t._version = self._version  # detach shares storage and the version counter
        return t

    def detach_(self) -> "Tensor":
        if self._base is not None:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using "
                "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as True, "
                "gradients are views of DDP buckets, and hence detach_() cannot be called on these "
                "gradients. To fix this error, please refer to the Optimizer.zero_grad() function in "
                "torch/optim/optimizer.py as the solution.")
        self.grad_fn = None
        self._requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    # ------------------------------------------------------------------ conversions
    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._data if dtype is None else self._data.astype(dtype)

    def item(self) -> Any:
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __float__(self) -> float:
        global _float_warned
        if self.requires_grad and not _float_warned:
            _float_warned = True
            warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
                          "behavior.\nConsider using tensor.detach() first.", UserWarning, stacklevel=2)
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.is_floating_point:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return Tensor._apply("eq", (self, other), {})

    def __ne__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return Tensor._apply("ne", (self, other), {})

    def __repr__(self) -> str:
        from .tensor_str import format_tensor
        suffixes = []
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn=<{self.grad_fn.name() if not isinstance(self.grad_fn, autograd.AccumulateGrad) else 'AccumulateGrad'}>")
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        return format_tensor(self._data, dtype_name=self.dtype.name, suffixes=suffixes)

    __str__ = __repr__

    def __reduce_ex__(self, proto):
        return (_rebuild, (self._data, self._requires_grad))


def _rebuild(data, requires_grad):
    t = Tensor._wrap(data)
    t._requires_grad = requires_grad
    return t


_SUPPORTED = {d.np for d in dtypes.ALL}


def _as_array(v: Any) -> np.ndarray:
    a = np.asarray(v)
    if a.dtype.kind == "f" and not isinstance(v, np.ndarray):
        a = a.astype(dtypes.get_default_dtype().np)
    return a


def _promoted_arrays(p: prims.Prim, args: tuple) -> tuple[list, dtypes.DType | None]:
    """NumPy operands with PyTorch's result type applied (elementwise ops and comparisons)."""
    if p.kind not in ("elementwise", "compare"):
        return [a._data if isinstance(a, Tensor) else a for a in args], None
    lo = 1 if p.name == "where" else 0
    tens = [(a.dtype, a.ndim == 0) for a in args[lo:] if isinstance(a, Tensor)]
    scal = [a for a in args[lo:] if isinstance(a, Number) and not isinstance(a, Tensor)]
    rd = dtypes.torch_result_type(tens, scal)
    if p.float_only and not rd.is_floating_point:
        rd = dtypes.get_default_dtype()
    out = []
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            out.append(a._data if i < lo or a._data.dtype == rd.np else a._data.astype(rd.np))
        elif i >= lo and isinstance(a, Number) and rd.is_floating_point and not isinstance(a, bool):
            out.append(float(a))
        else:
            out.append(a)
    return out, rd


def _shares(raw: Any, arrays: list) -> bool:
    return isinstance(raw, np.ndarray) and bool(arrays) and isinstance(arrays[0], np.ndarray) \
        and np.shares_memory(raw, arrays[0])


def _check_inference(p: prims.Prim, args: tuple) -> None:
    if "in" in p.saves and any(isinstance(a, Tensor) and a._inference for a in args):
        raise RuntimeError(_INFERENCE_SAVE)


def shape_only(t: Tensor) -> Tensor:
    """A stand-in with `t`'s shape and dtype but no storage, for rules that read only metadata."""
    s = Tensor._wrap(np.broadcast_to(np.zeros((), dtype=t._data.dtype), t._data.shape))
    return s
