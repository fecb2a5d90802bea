"""`symgrad.compile_module(model, loss_fn)`: a model's forward pass plus its loss as one
compiled function of the model's parameters.

The model (a `Sequential`, possibly nested, of `Linear`, `ReLU`, `Tanh`, `Sigmoid`,
`Flatten`, `Identity`) and the loss (`CrossEntropyLoss` or `MSELoss`, reduction mean or
sum) are turned into NumPy source text, written to a file (the compiler reads functions
from their source) and compiled with `compile_grad` with respect to the parameters.
Calling the result with a batch returns the loss as a Tensor whose `grad_fn` is one
`CompiledFunctionBackward` node: `loss.backward()` fills each `nn.Parameter`'s `.grad`
from the native adjoint, and any optimizer steps the module's own parameters.
"""
from __future__ import annotations

import hashlib
import linecache
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .nn import layers, loss as nn_loss
from .nn.containers import Sequential
from .nn.module import Module
from .tensor import Tensor

__all__ = ["CompiledModule", "compile_module"]

_ACTIVATIONS = {
    layers.ReLU: "{h} * ({h} > 0.0)",  # relu'(0) = 0, as PyTorch (np.maximum splits ties)
    layers.Tanh: "np.tanh({h})",
    layers.Sigmoid: "1.0 / (1.0 + np.exp(-{h}))",
}


def _logsumexp_compiles() -> bool:
    """True when SciPy is installed and the array front end maps `scipy.special.logsumexp`
    to the `logsumexp` primitive."""
    try:
        import scipy.special
        from ..frontend.arrays import ARRAY_CALLS
    except ImportError:
        return False
    return id(scipy.special.logsumexp) in ARRAY_CALLS


def _flatten_layers(model: Module) -> list[Module]:
    if isinstance(model, Sequential):
        out: list[Module] = []
        for m in model:
            out.extend(_flatten_layers(m))
        return out
    return [model]


def _model_lines(model: Module, params: list[Tensor]) -> tuple[list[str], dict[int, str]]:
    """Source lines computing `h` from `x`, and the argument name of each parameter."""
    names = {id(p): f"p{i}" for i, p in enumerate(params)}
    lines = ["h = x"]
    used: set[int] = set()
    for m in _flatten_layers(model):
        if isinstance(m, layers.Linear):
            w = names[id(m.weight)]
            used.add(id(m.weight))
            if m.bias is not None:
                used.add(id(m.bias))
                lines.append(f"h = h @ {w}.T + {names[id(m.bias)]}")
            else:
                lines.append(f"h = h @ {w}.T")
        elif type(m) in _ACTIVATIONS:
            lines.append("h = " + _ACTIVATIONS[type(m)].format(h="h"))
        elif isinstance(m, layers.Flatten):
            if m.start_dim != 1 or m.end_dim != -1:
                raise InputError("compile_module: only Flatten(start_dim=1, end_dim=-1) is supported")
            lines.append("h = h.reshape(h.shape[0], -1)")
        elif isinstance(m, layers.Identity):
            continue
        else:
            raise InputError(f"compile_module: layer {type(m).__name__} is not supported; models are "
                             "Sequential stacks of Linear, ReLU, Tanh, Sigmoid, Flatten, Identity")
    if not used:
        raise InputError("compile_module: the model has no Linear layer")
    if len(used) != len(params):
        raise InputError("compile_module: the model has parameters outside its Linear layers")
    return lines, names


def _loss_lines(loss_fn: Module) -> tuple[list[str], str]:
    """Source lines computing the loss from `h` (logits/predictions), `y`, `den`; the loss kind."""
    red = getattr(loss_fn, "reduction", None)
    if red not in ("mean", "sum"):
        raise InputError(f"compile_module: the loss must reduce to a scalar (reduction 'mean' or 'sum'), "
                         f"got {red!r}")
    if isinstance(loss_fn, nn_loss.CrossEntropyLoss):
        if loss_fn.weight is not None or loss_fn.label_smoothing != 0.0:
            raise InputError("compile_module: CrossEntropyLoss with weight or label_smoothing is not "
                             "supported")
        # `y` is one-hot (zero rows for ignore_index); `den` the number of counted rows.
        if _logsumexp_compiles():
            # One primitive whose adjoint is softmax; the max-shift form below needs the
            # adjoint of a max along an axis, which not every back end lowers.
            return ["lse = scipy.special.logsumexp(h, axis=1, keepdims=True)",
                    "return -np.sum(y * (h - lse)) / den"], "ce"
        return ["m = np.max(h, axis=1, keepdims=True)",
                "z = h - m",
                "lse = np.log(np.sum(np.exp(z), axis=1, keepdims=True))",
                "return -np.sum(y * (z - lse)) / den"], "ce"
    if isinstance(loss_fn, nn_loss.MSELoss):
        return ["d = h - y", "return np.sum(d * d) / den"], "mse"
    raise InputError(f"compile_module: loss {type(loss_fn).__name__} is not supported; use "
                     "CrossEntropyLoss or MSELoss")


def model_source(model: Module, loss_fn: Module, name: str = "model_loss") -> tuple[str, list[str], str]:
    """The NumPy source of `loss(model(x), y)` as a function of the parameters, x, y and den."""
    params = list(model.parameters())
    body, names = _model_lines(model, params)
    tail, kind = _loss_lines(loss_fn)
    args = [names[id(p)] for p in params]
    imports = ["import numpy as np"] + (["import scipy.special"] if any("scipy." in t for t in tail) else [])
    src = ['"""Generated by symgrad.compile_module; parameters in model.parameters() order."""',
           *imports, "", "",
           f"def {name}({', '.join(args + ['x', 'y', 'den'])}):"]
    src += ["    " + ln for ln in body + tail]
    return "\n".join(src) + "\n", args, kind


def _source_file(text: str) -> str:
    """Write `text` once to a file named by its hash (the front end reads source from files)."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:20]
    try:
        from ..backend.cache import cache_dir
        folder = cache_dir() / "modules"
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir()) / "symgrad-modules"
        folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"module_{digest}.py"
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    # Also in linecache, so the source stays readable if the file is removed meanwhile.
    linecache.cache[str(path)] = (len(text), None, text.splitlines(True), str(path))
    return str(path)


class CompiledModule:
    """`loss = cm(x, y)`: the model's forward and the loss in native code; see `compile_module`."""

    def __init__(self, model: Module, loss_fn: Module, *, backend: str = "auto",
                 simplify: Any = "auto") -> None:
        from ..api import compile_grad
        self.model = model
        self.loss_fn = loss_fn
        self.source, self._arg_names, self._kind = model_source(model, loss_fn)
        self.path = _source_file(self.source)
        namespace: dict[str, Any] = {"__name__": f"symgrad_module_{Path(self.path).stem}"}
        exec(compile(self.source, self.path, "exec"), namespace)
        self.function = compile_grad(namespace["model_loss"], wrt=self._arg_names,
                                     backend=backend, simplify=simplify)
        self._eye: dict[tuple, np.ndarray] = {}
        # Where each parameter lives, read on every call: a replaced Parameter is seen, and
        # no module tree walk is paid per step. Changing the architecture needs a new compile.
        owners = {id(p): (m._parameters, name) for m in model.modules() for name, p in m._parameters.items()
                  if p is not None}
        self._slots = [owners[id(p)] for p in model.parameters()]
        self._n_classes = self.model_out_features()

    def parameters(self) -> list[Tensor]:
        return list(self.model.parameters())

    def _targets(self, x: np.ndarray, target: Any, dtype: np.dtype) -> tuple[np.ndarray, float]:
        t = np.asarray(target._data if isinstance(target, Tensor) else target)
        red = self.loss_fn.reduction
        if self._kind == "ce":
            if t.dtype.kind not in "iu" or t.ndim != 1 or t.shape[0] != x.shape[0]:
                raise InputError("compile_module: CrossEntropyLoss takes int64 class targets of shape (N,)")
            n_cls = self._n_classes
            key = (n_cls, dtype)
            eye = self._eye.get(key)
            if eye is None:  # the extra zero row is the one-hot of an ignored target
                eye = self._eye[key] = np.vstack([np.eye(n_cls, dtype=dtype), np.zeros((1, n_cls), dtype)])
            ii = self.loss_fn.ignore_index
            if t.size and t.min() >= 0 and t.max() < n_cls and not 0 <= ii < n_cls:
                return eye[t], float(t.size) if red == "mean" else 1.0
            keep = t != self.loss_fn.ignore_index
            bad = t[keep][(t[keep] < 0) | (t[keep] >= n_cls)]
            if bad.size:
                raise IndexError(f"Target {bad[0]} is out of bounds.")
            return eye[np.where(keep, t, n_cls)], float(keep.sum()) if red == "mean" else 1.0
        if t.shape != (x.shape[0], self._n_classes):
            # PyTorch would broadcast (with a warning); the mean's denominator would differ.
            raise InputError(f"compile_module: MSELoss needs a target of shape ({x.shape[0]}, "
                             f"{self._n_classes}), got {tuple(t.shape)}")
        y = t.astype(dtype, copy=False)
        return y, float(y.size) if red == "mean" else 1.0

    def model_out_features(self) -> int:
        lin = [m for m in _flatten_layers(self.model) if isinstance(m, layers.Linear)]
        return lin[-1].out_features

    def __call__(self, input: Any, target: Any) -> Tensor:
        params = [d[k] for d, k in self._slots]
        dtype = params[0]._data.dtype
        x = np.asarray(input._data if isinstance(input, Tensor) else input)
        if x.dtype != dtype:
            x = x.astype(dtype)
        y, den = self._targets(x, target, dtype)
        # `den` in the parameters' dtype: a float64 scalar would promote a float32 loss.
        return self.function(*params, x, y, dtype.type(den))

    def inspect(self, stage: str = "python") -> str:
        """A compilation stage of the model's loss (after a first call): see `CompiledFunction.inspect`."""
        return self.function.inspect(stage)

    def __repr__(self) -> str:
        return f"CompiledModule({type(self.model).__name__}, {type(self.loss_fn).__name__}, file={self.path!r})"


def compile_module(model: Module, loss_fn: Module, *, backend: str = "auto",
                   simplify: Any = "auto") -> CompiledModule:
    """Compile `loss_fn(model(x), y)` into one native function of `model`'s parameters.

    `cm = compile_module(model, nn.CrossEntropyLoss())`; then a training step is
    `opt.zero_grad(); loss = cm(x, y); loss.backward(); opt.step()`, with `opt` any
    optimizer over `model.parameters()`. The parameters stay the module's; `model(x)`
    still runs eagerly (for evaluation). Compilation happens on the first call.
    """
    return CompiledModule(model, loss_fn, backend=backend, simplify=simplify)
