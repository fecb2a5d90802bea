"""Runs the passes for one signature, keeps every stage's text, and picks the back end.

Stages: `source`, `ssa` (primal after infer/cleanup), `adjoint` (joint after AD/cleanup),
`sympy` (regions of the joint as SymPy), `python` (the final joint as runnable Python),
`llvm`, `llvm-opt`, `asm` (native code of the joint). `SYMGRAD_DUMP=ssa,adjoint` (or
`all`) prints stages to stderr as they are made. Errors raised inside a pass are reported
with the pass name and the user's line; unexpected exceptions become `CompileError`s.
"""
from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from . import ir
from .backend import numpy_exec
from .errors import CompileError
from .frontend import load_function, parse
from .passes import JOINT, PRIMAL, cleanup, simplify_pass
from .printer import format_function
from .pyprinter import format_python

STAGES = ("source", "ssa", "adjoint", "sympy", "python", "llvm", "llvm-opt", "asm")


@dataclass
class Options:
    simplify: Any = "auto"
    cache: bool = True
    boundscheck: bool = True
    fastmath: bool = False
    backend: str = "auto"        # "auto" (native when available) | "native" | "numpy"


@dataclass
class Compiled:
    """Everything compiled for one signature."""

    signature: tuple[ir.Type, ...]
    wrt: list[int]
    backend: str
    forward: Callable[..., tuple]
    joint: Callable[..., tuple] | None
    stages: dict[str, str] = field(default_factory=dict)
    times: dict[str, float] = field(default_factory=dict)
    cache_hits: int = 0
    primal_ir: ir.Function | None = None
    joint_ir: ir.Function | None = None
    natives: dict[str, Any] = field(default_factory=dict)
    lazy: dict[str, Callable[[], str]] = field(default_factory=dict)
    vjp: Callable[..., tuple] | None = None   # made on the first f.vjp of an array result
    options: Any = None

    def forward_result_dtype(self) -> str:
        # The joint's first result is the same value: no need to compile the forward to know.
        nat = self.natives.get("forward") or self.natives.get("joint")
        return nat.result_dtypes[0] if nat is not None else self.primal_ir.result_types[0].dtype

    def joint_result_dtype(self, i: int) -> str:
        nat = self.natives.get("joint")
        if nat is not None:
            return nat.result_dtypes[i]
        return self.joint_ir.result_types[i].dtype

    def stage(self, name: str) -> str:
        if name not in STAGES:
            raise ValueError(f"unknown stage {name!r}; stages are {', '.join(STAGES)}")
        if name == "asm" and "asm" not in self.stages:
            nat = self.natives.get("joint") or self.natives.get("forward")
            if nat is not None:
                self.stages["asm"] = nat.asm
        if name not in self.stages and name in self.lazy:
            self.stages[name] = self.lazy.pop(name)()
        text = self.stages.get(name)
        if text is None:
            why = "the native back end is not in use" if name in ("llvm", "llvm-opt", "asm") \
                else "the simplifier is not available" if name == "sympy" else "not produced"
            return f"# stage {name!r}: {why}\n"
        return text


def signature_text(sig: Sequence[ir.Type]) -> str:
    return ", ".join(str(t) for t in sig)


def _dumping(stage: str) -> bool:
    want = {s.strip() for s in os.environ.get("SYMGRAD_DUMP", "").split(",") if s.strip()}
    return stage in want or "all" in want


def _dump(stage: str, fn_name: str, text: str) -> None:
    if _dumping(stage):
        print(f"=== symgrad {stage}: {fn_name} ===\n{text}", file=sys.stderr)


class Runner:
    """Runs passes with timing, verification and error context."""

    def __init__(self, compiled: Compiled, fn_name: str):
        self.c = compiled
        self.fn_name = fn_name

    def run(self, name: str, pass_: Callable[..., Any], fn: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            out = pass_(fn, *args)
            if isinstance(out, ir.Function):
                ir.verify(out)
        except CompileError as e:
            if name not in ("parse",) and "(in pass" not in e.message:
                e.message = f"{e.message} (in pass '{name}')"
                e.args = (e._render(),)
            raise
        except RecursionError:
            raise CompileError(f"'{self.fn_name}' is too deeply nested to compile (pass '{name}')",
                               getattr(fn, "loc", None)) from None
        except Exception as e:  # noqa: BLE001 - any crash is reported with the user's location
            loc = getattr(fn, "loc", None)
            raise CompileError(f"internal error in pass '{name}' while compiling "
                               f"'{self.fn_name}': {type(e).__name__}: {e}", loc) from e
        self.c.times[name] = self.c.times.get(name, 0.0) + time.perf_counter() - t0
        return out

    def stage(self, name: str, text: str) -> None:
        self.c.stages[name] = text
        _dump(name, self.fn_name, text)


def native_backend(opts: Options) -> Any:
    """The llvm back end module, or None when numpy_exec is to be used."""
    if opts.backend == "numpy":
        return None
    try:
        from .backend import llvm
    except ImportError:
        if opts.backend == "native":
            raise
        return None
    return llvm


def cache_module(opts: Options, llvm: Any) -> Any:
    if not opts.cache or llvm is None:
        return None
    try:
        from .backend import cache
    except ImportError:
        return None
    return cache


def key_constants(pyfn: types.FunctionType, seen: set | None = None) -> dict[str, Any]:
    """Globals, closure values and helper sources the compiled code depends on."""
    from .frontend.resolve import Resolver, is_number, python_function
    seen = seen if seen is not None else set()
    if pyfn in seen:
        return {}
    seen.add(pyfn)
    out: dict[str, Any] = {}
    r = Resolver(pyfn)
    names = set(pyfn.__code__.co_names) | set(pyfn.__code__.co_freevars)
    for n in sorted(names):
        try:
            v = r.lookup(n)
        except Exception:  # noqa: BLE001 - unresolved names fail at compile time instead
            continue
        helper = python_function(v)
        if is_number(v):
            out[f"{pyfn.__qualname__}.{n}"] = v
        elif helper is not None and helper is not pyfn:
            try:
                src = load_function(helper).source
            except CompileError:
                src = repr(helper)
            out[f"{pyfn.__qualname__}.{n}"] = hashlib.sha256(src.encode()).hexdigest()
            out.update(key_constants(helper, seen))
        elif isinstance(v, types.ModuleType):
            out[f"{pyfn.__qualname__}.{n}"] = f"module {v.__name__}"
    return out


def uses_arrays(fn: ir.Function) -> bool:
    """Whether `fn` has array values beyond the scalar compiler's rank-1 tapes."""
    if any(a.type.rank for a in fn.args) or any(t.rank for t in fn.result_types):
        return True
    return any(r.type.rank and ins.op not in ir.SIDE_EFFECTS for ins in ir.walk(fn.body)
               for r in ins.results)


def compile_signature(pyfn: types.FunctionType, sig: Sequence[ir.Type], wrt: Sequence[int],
                      opts: Options) -> Compiled:
    """Compile `pyfn` for argument types `sig`, differentiating w.r.t. positions `wrt`.

    Native code is made for what the first call needs: the joint (value and gradient) when
    there is one, and the forward-only function on its first use (`LazyNative`), so a
    training loop that only asks for gradients compiles one module, not two."""
    t_start = time.perf_counter()
    src = load_function(pyfn).source
    llvm = native_backend(opts)
    if llvm is not None and opts.backend == "auto" and any(t.rank for t in sig) \
            and not getattr(llvm, "SUPPORTS_ARRAYS", False):
        llvm = None  # array code runs on the NumPy oracle until the native array path exists
    c = Compiled(tuple(sig), list(wrt), "native" if llvm is not None else "numpy",
                 forward=lambda *a: (), joint=None, options=opts)
    b = _Build(pyfn, c, Runner(c, pyfn.__name__), llvm, cache_module(opts, llvm))
    b.runner.stage("source", src)
    if b.cache is not None:
        consts = key_constants(pyfn)
        base = dict(simplify=str(opts.simplify), fastmath=opts.fastmath, boundscheck=opts.boundscheck,
                    wrt=list(wrt))
        for kind in ("forward", "joint") if wrt else ("forward",):
            b.keys[kind] = b.cache.make_key(source=src, signature=signature_text(sig), constants=consts,
                                            options=dict(base, kind=kind, name=pyfn.__qualname__))
        if b.load_cached():
            c.times["cache_load"] = time.perf_counter() - t_start
            return c
    primal, joint = b.front()
    if b.llvm is None:
        c.forward = lambda *a: numpy_exec.run(primal, *a)
        c.joint = (lambda *a: numpy_exec.run(joint, *a)) if joint is not None else None
    else:
        kind = "joint" if joint is not None else "forward"
        nat = b.native(kind)
        for s in ("llvm", "llvm-opt"):
            b.runner.stage(s, nat.texts.get(s, ""))
        if _dumping("asm"):
            b.runner.stage("asm", nat.asm)
        if joint is not None:
            c.joint = nat
            c.forward = LazyNative(lambda: b.native("forward"))
        else:
            c.forward = nat
    c.times["total"] = time.perf_counter() - t_start
    return c


class LazyNative:
    """A native function compiled (or loaded from the cache) on its first call."""

    def __init__(self, make: Callable[[], Any]):
        self._make = make
        self._fn: Any = None
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        fn = self._fn
        if fn is None:
            with self._lock:
                if self._fn is None:
                    self._fn = self._make()
                fn = self._fn
        return fn(*args, **kwargs)


class _Build:
    """The state of one signature's compilation, kept for what is made later on demand (the
    forward function, and after a cache hit the IR behind `inspect('sympy')`)."""

    def __init__(self, pyfn: types.FunctionType, c: Compiled, runner: Runner, llvm: Any, cache: Any):
        self.pyfn, self.c, self.runner, self.llvm, self.cache = pyfn, c, runner, llvm, cache
        self.keys: dict[str, str] = {}
        self.lock = threading.Lock()

    def load_cached(self) -> bool:
        """Fill `c` from the disk cache: the joint (forward loaded on first use), or the
        forward alone where nothing is differentiated. False: compile."""
        c = self.c
        kind = "joint" if "joint" in self.keys else "forward"
        hit = self.cache.lookup(self.keys[kind])
        if hit is None and kind == "joint":
            # An array result has no joint: then the forward alone is the whole entry.
            fwd = self.cache.lookup(self.keys["forward"])
            if fwd is None or not any(fwd[0].abi.get("result_ranks") or ()):
                return False
            kind, hit = "forward", fwd
        if hit is None:
            return False
        nat, texts = hit
        c.natives[kind] = nat
        c.stages.update(texts)
        if kind == "joint":
            c.joint = nat
            c.forward = LazyNative(lambda: self.native("forward"))
        else:
            c.forward = nat
        c.cache_hits = 1
        c.lazy["sympy"] = self.sympy_text  # the IR is rebuilt only if asked for
        return True

    def front(self) -> tuple[ir.Function, ir.Function | None]:
        """Parse, infer, differentiate and simplify; sets `c.primal_ir`/`c.joint_ir` and the
        ssa/adjoint/python stages."""
        with self.lock:
            if self.c.primal_ir is not None:
                return self.c.primal_ir, self.c.joint_ir
            return self._front()

    def _front(self) -> tuple[ir.Function, ir.Function | None]:
        c, runner, opts = self.c, self.runner, self.c.options
        primal = runner.run("parse", parse, self.pyfn, list(c.signature))
        for name, p in PRIMAL:
            primal = runner.run(name, p, primal)
        runner.stage("ssa", format_function(primal))
        joint = None
        if self.llvm is not None and opts.backend == "auto" and uses_arrays(primal) \
                and not getattr(self.llvm, "SUPPORTS_ARRAYS", False):
            self.llvm, self.cache, c.backend = None, None, "numpy"
        if c.wrt and not primal.result_types[0].rank:
            joint = primal
            for name, p in JOINT:
                joint = runner.run(name, p, joint, *([list(c.wrt)] if name == "ad" else []))
            runner.stage("adjoint", format_function(joint))
        simp = simplify_pass() if opts.simplify else None
        if opts.simplify is True and simp is None:
            raise CompileError("simplify=True but the SymPy simplifier is not available")
        if simp is not None:
            primal = cleanup(runner.run("simplify", simp, primal))
            if joint is not None:
                joint = cleanup(runner.run("simplify", simp, joint))
            if "sympy" not in c.stages:
                # Rendering SymPy costs tens of ms: made on first inspect (or when dumped).
                c.lazy["sympy"] = self.sympy_text
                if _dumping("sympy"):
                    runner.stage("sympy", c.lazy.pop("sympy")())
        runner.stage("python", format_python(joint or primal))
        c.primal_ir, c.joint_ir = primal, joint
        return primal, joint

    def sympy_text(self) -> str:
        if not self.c.options.simplify:
            return "# stage 'sympy': simplify=False\n"
        try:
            from .passes.simplify import sympy_view
        except ImportError:
            return "# stage 'sympy': the simplifier is not available\n"
        primal, joint = self.front()
        return self.runner.run("sympy-view", sympy_view, joint or primal)

    def native(self, kind: str) -> Any:
        """The native function of `kind`: from the cache, or compiled (and then cached)."""
        c = self.c
        key = self.keys.get(kind)
        if self.cache is not None and key is not None and kind not in c.natives:
            hit = self.cache.lookup(key)
            if hit is not None:
                c.natives[kind] = hit[0]
                c.cache_hits += 1
        if kind not in c.natives:
            primal, joint = self.front()
            fn = joint if kind == "joint" else primal
            opts = c.options
            nat = self.runner.run("llvm", lambda f: self.llvm.compile_function(
                f, fastmath=opts.fastmath, boundscheck=opts.boundscheck), fn)
            c.natives[kind] = nat
            if self.cache is not None and key is not None:
                texts = {s: t for s, t in c.stages.items() if s not in ("llvm", "llvm-opt", "asm")}
                # In-process hits hand back the native object's texts: give it every stage.
                nat.texts = {**texts, **nat.texts}
                self.cache.save(key, nat, texts, {"name": self.pyfn.__qualname__})
        if kind == "forward":
            c.forward = c.natives[kind]
        return c.natives[kind]


def vjp_function(c: Compiled) -> Callable[..., tuple]:
    """`vjp(*args, cotangent) -> (value, *grads)` for an array result (made once, lazily)."""
    if c.vjp is None:
        from .passes import reverse_mode
        if c.primal_ir is None or not c.wrt:
            raise CompileError("nothing to differentiate for this signature")
        fn = cleanup(reverse_mode(c.primal_ir, c.wrt, seeded=True))
        ir.verify(fn)
        llvm = native_backend(c.options) if c.backend == "native" else None
        if llvm is not None and getattr(llvm, "SUPPORTS_ARRAYS", False):
            c.vjp = llvm.compile_function(fn, fastmath=c.options.fastmath, boundscheck=c.options.boundscheck)
        else:
            c.vjp = lambda *a: numpy_exec.run(fn, *a)
    return c.vjp
