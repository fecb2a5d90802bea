"""The process-wide native code engine: host target machine, O2 pass pipeline, one MCJIT.

Facts this module relies on (measured with llvmlite 0.50 / LLVM 22, see DESIGN.md):
- only `initialize_native_target()` and `initialize_native_asmprinter()` may be called;
- the new pass manager (`create_pass_builder` + `PipelineTuningOptions`) needs loop and
  SLP vectorisation switched on explicitly;
- libmvec vector variants are used by the loop vectoriser only when the scalar libm
  declaration carries `"vector-function-abi-variant"` *and* the vector declarations are
  kept alive through `@llvm.compiler.used` (otherwise GlobalDCE deletes them before the
  vectoriser runs and it falls back to a scalarised `llvm.sin.v8f64`, 8x slower);
- every shared library must be loaded before the first `finalize_object`, and an
  unresolved external symbol aborts the process, so `add_module` checks them first;
- object code is captured through the engine's object-cache hook (no second codegen);
  cached object code is loaded with `add_object_file` (about 2 ms).
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

import llvmlite
import llvmlite.binding as llvm

from ..errors import CompileError

# O2, not O3: on the benchmark kernels O3 ran no faster (W1-W6, LSTM within noise) but took
# 30-40% longer to compile (W4 MLP 2.2 s -> 1.6 s, LSTM 8.4 s -> 6.0 s at O2); O3's extra
# work (non-trivial loop unswitching, more inlining) mostly copies loops we already specialise.
OPT_LEVEL = 2


@dataclass(frozen=True)
class HostInfo:
    """What native code is specialised for; part of every cache key."""

    triple: str
    cpu: str
    features: str
    llvmlite_version: str
    llvm_version: str
    libmvec: bool

    @property
    def has_avx512(self) -> bool:
        return "+avx512f" in self.features.split(",")

    @property
    def has_avx2(self) -> bool:
        return "+avx2" in self.features.split(",")


_init_lock = threading.Lock()
_initialised = False


def _initialise() -> None:
    global _initialised
    with _init_lock:
        if not _initialised:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            _initialised = True


@lru_cache(maxsize=None)
def _load_libmvec() -> bool:
    """Load glibc's libmvec once; False (scalar libm fallback) where it is missing."""
    _initialise()
    try:
        llvm.load_library_permanently("libmvec.so.1")
    except RuntimeError:
        return False
    # Only trust it if the AVX2 variants we name are really exported.
    return llvm.address_of_symbol("_ZGVdN4v_exp") is not None


@lru_cache(maxsize=None)
def host() -> HostInfo:
    """The host's triple, CPU name and features, and the toolchain versions."""
    _initialise()
    feats = llvm.get_host_cpu_features().flatten()
    mvec = _load_libmvec() and "+avx2" in feats.split(",") and \
        llvm.get_process_triple().startswith("x86_64")
    return HostInfo(triple=llvm.get_process_triple(), cpu=llvm.get_host_cpu_name(),
                    features=feats, llvmlite_version=llvmlite.__version__,
                    llvm_version=".".join(map(str, llvm.llvm_version_info)), libmvec=mvec)


# libm functions with libmvec variants (glibc 2.35+). x86 ISA letters: d = AVX2, e = AVX-512.
MVEC_FUNCS = frozenset({"exp", "log", "sin", "cos", "tan", "tanh", "sinh", "cosh", "asin",
                        "acos", "atan", "expm1", "log1p", "pow"})


def vector_variants(scalar: str, nargs: int, f32: bool) -> list[str]:
    """The libmvec names for `scalar` (`sin`, `sinf`) usable on this host, widest last."""
    base = scalar[:-1] if f32 else scalar
    if not host().libmvec or base not in MVEC_FUNCS:
        return []
    params = "v" * nargs
    lanes = [("d", 8 if f32 else 4)]
    if host().has_avx512:
        lanes.append(("e", 16 if f32 else 8))
    names = [f"_ZGV{isa}N{n}{params}_{scalar}" for isa, n in lanes]
    return [n for n in names if llvm.address_of_symbol(n) is not None]


def make_target_machine() -> llvm.TargetMachine:
    info = host()
    target = llvm.Target.from_triple(info.triple)
    return target.create_target_machine(cpu=info.cpu, features=info.features, opt=OPT_LEVEL,
                                        reloc="default", codemodel="jitdefault", jit=True)


_DECL = re.compile(r"^declare .*?@\"?([\w.$]+)\"?\(", re.M)


def externals(llvm_text: str) -> list[str]:
    """The external (non-intrinsic) functions an LLVM module declares."""
    return sorted({n for n in _DECL.findall(llvm_text) if not n.startswith("llvm.")})


class Engine:
    """One MCJIT engine for the process; every operation on it holds `self.lock`."""

    def __init__(self) -> None:
        _initialise()
        _load_libmvec()          # before anything is finalised, or MCJIT may crash later
        self.lock = threading.RLock()
        self.tm = make_target_machine()
        # The engine owns its own target machine; `self.tm` serves passes and asm.
        self._ee = llvm.create_mcjit_compiler(llvm.parse_assembly(""), make_target_machine())
        self._captured: dict[str, bytes] = {}
        self._ee.set_object_cache(self._notify, None)
        self._symbols: set[str] = set()

    def _notify(self, module: llvm.ModuleRef, data: bytes) -> None:
        self._captured[module.name] = data

    # -- compiling ---------------------------------------------------------------
    def parse(self, text: str, name: str) -> llvm.ModuleRef:
        """Parse and verify LLVM IR text for the host triple and data layout."""
        with self.lock:
            return self._parse(text, name)

    def _parse(self, text: str, name: str) -> llvm.ModuleRef:
        try:
            mod = llvm.parse_assembly(text)
            mod.verify()
        except RuntimeError as e:  # a back-end bug, reported instead of crashing
            raise CompileError(f"internal error: invalid LLVM IR for {name}: {e}") from None
        mod.name = name
        mod.triple = self.tm.triple
        mod.data_layout = str(self.tm.target_data)
        return mod

    def optimize(self, mod: llvm.ModuleRef, *, unroll: bool = True) -> None:
        """Run the O2 pipeline with loop and SLP vectorisation.

        A fresh pass builder and manager every time: running a ModulePassManager a second
        time aborts the process (C++ assertion), and building them costs about 0.1 ms.
        """
        pto = llvm.create_pipeline_tuning_options(speed_level=OPT_LEVEL)
        pto.loop_vectorization = True
        pto.slp_vectorization = True
        pto.loop_interleaving = True
        pto.loop_unrolling = unroll
        with self.lock:
            pb = llvm.create_pass_builder(self.tm, pto)
            pb.getModulePassManager().run(mod, pb)

    def check_externals(self, names: Iterable[str]) -> None:
        """Refuse code whose external symbols do not resolve (MCJIT would abort)."""
        for name in names:
            if llvm.address_of_symbol(name) is None and name not in self._symbols:
                raise CompileError(f"internal error: native code needs symbol {name!r}, "
                                   "which this process does not provide")

    def add_module(self, mod: llvm.ModuleRef, symbols: Iterable[str],
                   text: str | None = None) -> bytes:
        """JIT `mod` (`text`: its IR, if already printed); returns its object code, captured
        through the object cache hook."""
        syms = list(symbols)
        with self.lock:
            self._refuse_duplicates(syms)
            self.check_externals(externals(text if text is not None else str(mod)))
            self._ee.add_module(mod)
            self._ee.finalize_object()
            self._symbols.update(syms)
            return self._captured.pop(mod.name, b"")

    def add_object(self, data: bytes, symbols: Iterable[str], needs: Iterable[str]) -> None:
        """Load object code (from the cache) defining `symbols` and calling `needs`."""
        syms = list(symbols)
        with self.lock:
            self._refuse_duplicates(syms)
            self.check_externals(needs)
            obj = llvm.ObjectFileRef.from_data(data)
            self._ee.add_object_file(obj)
            self._ee.finalize_object()
            self._symbols.update(syms)

    def _refuse_duplicates(self, syms: list[str]) -> None:
        dup = [s for s in syms if s in self._symbols]
        if dup:
            raise CompileError(f"internal error: symbol {dup[0]!r} is already in the JIT")

    def address(self, name: str) -> int:
        """Address of a JIT-ed function; never 0 (checked, so a bad name cannot be called)."""
        with self.lock:
            addr = self._ee.get_function_address(name) if name in self._symbols else 0
        if not addr:
            raise CompileError(f"internal error: no native symbol {name!r}")
        return addr

    def assembly(self, llvm_text: str) -> str:
        """Machine assembly for optimised LLVM IR (a second codegen, so only on request)."""
        with self.lock:
            mod = llvm.parse_assembly(llvm_text)
            mod.triple = self.tm.triple
            mod.data_layout = str(self.tm.target_data)
            return self.tm.emit_assembly(mod)


_engine: Engine | None = None
_engine_lock = threading.Lock()


def engine() -> Engine:
    """The process-wide engine. It is never freed: native function pointers outlive callers."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = Engine()
    return _engine
