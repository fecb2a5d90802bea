"""The on-disk cache: keys, atomic writes, hits in a fresh process, and every kind of bad
entry (truncated, bit-flipped, empty, wrong version, foreign) being a warned miss."""
from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import pytest

from symgrad import ir
from symgrad.backend import cache
from symgrad.backend import llvm as B

F64, I64 = ir.F64, ir.I64
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(d))
    return d


def _fn(name="h"):
    x = ir.Arg(F64, "x")
    blk = ir.Block([x])
    with ir.Builder(blk) as b:
        b.ret(b.op("add", b.op("exp", x), b.op("mul", x, 3.0)))
    fn = ir.Function(name, blk, [F64])
    ir.verify(fn)
    return fn


def _key(tag=None):
    return cache.make_key(source=f"def h(x): ...  # {tag or uuid.uuid4()}", signature="(f64)")


def _get(key):
    """What the compiler does: a hit, or compile and save."""
    hit = cache.lookup(key)
    if hit is not None:
        return hit[0], True
    f = B.compile_function(_fn())
    cache.save(key, f, {"ssa": "func h(%x: f64) -> f64: ..."})
    return f, False


def _forget(key):
    cache._loaded.pop(key, None)  # as a new process would


# --------------------------------------------------------------------------------- keys
def test_key_covers_source_constants_signature_and_options():
    base = dict(source="def f(x): return x * c", signature="(f64)", constants={"c": 0.1},
                options={"fastmath": False})
    k = cache.make_key(**base)
    assert k == cache.make_key(**base) and len(k) == 64
    for change in ({"source": "def f(x): return x + c"}, {"signature": "(f32)"},
                   {"constants": {"c": math.nextafter(0.1, 1.0)}}, {"constants": {"c": 1}},
                   {"options": {"fastmath": True}}):
        assert cache.make_key(**{**base, **change}) != k, change


def test_key_includes_host_and_versions(monkeypatch):
    k = _key("same")
    real = cache.host()
    monkeypatch.setattr(cache, "host", lambda: real.__class__(**{**real.__dict__, "cpu": "other"}))
    assert _key("same") != k


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path / "x"))
    assert cache.cache_dir() == tmp_path / "x"
    monkeypatch.delenv("SYMGRAD_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "symgrad"


# ------------------------------------------------------------------------------ hits
def test_save_then_hit_in_process_and_after_reload(cache_dir):
    key = _key()
    f, hit = _get(key)
    assert not hit and f(0.5) == (math.exp(0.5) + 1.5,)
    assert list(cache_dir.glob("*.sgc")) and not list(cache_dir.glob(".tmp-*"))
    g, hit = _get(key)
    assert hit and g is f
    assert cache.lookup(key)[1]["ssa"].startswith("func h")  # in-process hits keep all stages
    _forget(key)
    entry = cache.load(key)
    assert entry.abi == f.abi and entry.texts["ssa"].startswith("func h")
    assert "llvm" in entry.texts and "llvm-opt" in entry.texts


def test_another_cache_directory_is_another_cache_in_process(cache_dir, tmp_path, monkeypatch):
    key = _key()
    f, hit = _get(key)
    assert not hit
    other = tmp_path / "other"
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(other))
    g, hit = _get(key)   # the code in this process's JIT does not count for a new directory
    assert not hit and g is not f and list(other.glob("*.sgc"))
    assert g(0.5) == f(0.5)
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(cache_dir))
    h, hit = _get(key)
    assert hit


def test_hit_in_a_fresh_process_runs_and_inspects(cache_dir):
    key = _key()
    f, _ = _get(key)
    script = textwrap.dedent(f"""
        import json, time
        t0 = time.perf_counter()
        from symgrad.backend import cache
        hit = cache.lookup({key!r})
        t1 = time.perf_counter()
        native, texts = hit
        print(json.dumps({{"r": native(0.5), "s": t1 - t0, "ssa": texts["ssa"],
                          "asm": native.symbol in native.asm, "llvm": "define" in native.llvm_ir}}))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SYMGRAD_CACHE_DIR": str(cache_dir)}
    out = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", script],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert tuple(res["r"]) == f(0.5)
    assert res["ssa"].startswith("func h") and res["asm"] and res["llvm"]


# ------------------------------------------------------------------- bad entries
def _corrupt_cases():
    def truncate(b):
        return b[: len(b) // 2]

    def bitflip(b):
        i = len(b) // 3
        return b[:i] + bytes([b[i] ^ 0x10]) + b[i + 1:]

    def flip_last(b):
        return b[:-1] + bytes([b[-1] ^ 1])

    def empty(b):
        return b""

    def wrong_version(b):
        body = b[:-32]
        body = body[:8] + struct.pack("<I", cache.FORMAT_VERSION + 1) + body[12:]
        return body + hashlib.sha256(body).digest()

    def foreign(b):
        return b"\x7fELF" + os.urandom(200)

    def json_file(b):
        return json.dumps({"key": "x"}).encode()

    def huge_length(b):
        body = b[:12] + struct.pack("<Q", 1 << 60) + b[20:-32]
        return body + hashlib.sha256(body).digest()

    return [truncate, bitflip, flip_last, empty, wrong_version, foreign, json_file, huge_length]


@pytest.mark.parametrize("damage", _corrupt_cases(), ids=lambda f: f.__name__)
def test_bad_entry_is_a_miss_with_a_warning_then_recompiled(damage):
    key = _key()
    f, _ = _get(key)
    _forget(key)
    path = cache.path_for(key)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.warns(cache.CacheWarning, match="recompiling"):
        g, hit = _get(key)
    assert not hit and g(0.25) == f(0.25)
    _forget(key)
    assert cache.load(key) is not None  # the recompile rewrote a good entry


def test_entry_of_another_key_under_this_name_is_foreign():
    k1, k2 = _key(), _key()
    _get(k1)
    cache.path_for(k2).write_bytes(cache.path_for(k1).read_bytes())
    with pytest.warns(cache.CacheWarning, match="another key"):
        assert cache.load(k2) is None


def test_entry_from_another_symgrad_version_is_a_miss(monkeypatch):
    key = _key()
    _get(key)
    _forget(key)
    monkeypatch.setattr(cache, "_version", lambda: "999.0")
    with pytest.warns(cache.CacheWarning, match="symgrad"):
        assert cache.load(key) is None


def test_unreadable_directory_entry_is_a_miss(cache_dir):
    key = _key()
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache.path_for(key).mkdir()  # a directory where the file should be
    with pytest.warns(cache.CacheWarning):
        assert cache.load(key) is None


def test_unwritable_cache_warns_and_still_works(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(blocker / "sub"))
    with pytest.warns(cache.CacheWarning, match="cannot write"):
        f, hit = _get(_key())
    assert not hit and f(0.0) == (1.0,)


def test_concurrent_writers_leave_one_valid_file(cache_dir):
    key = _key()
    f = B.compile_function(_fn())
    entry = cache.Entry(key, f.object_code, f.abi, dict(f.texts))
    threads = [threading.Thread(target=cache.store, args=(entry,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.load(key) is not None
    assert [p.name for p in cache_dir.iterdir()] == [cache.path_for(key).name]


def test_info_and_clear(cache_dir):
    assert cache.clear() == 0
    for _ in range(3):
        _get(_key())
    info = cache.info()
    assert info["entries"] == 3 and info["bytes"] > 0 and info["dir"] == str(cache_dir)
    assert cache.clear() == 3
    assert cache.info()["entries"] == 0


def test_well_formed_entry_with_a_bad_abi_is_a_miss():
    key = _key()
    f, _ = _get(key)
    _forget(key)
    entry = cache.load(key)
    entry.abi = {**entry.abi, "results": ["f128"]}
    cache.path_for(key).write_bytes(cache.encode(entry))
    with pytest.warns(cache.CacheWarning, match="recompiling"):
        g, hit = _get(key)
    assert not hit and g(1.0) == f(1.0)


def test_every_stage_is_inspectable_after_a_disk_cache_hit(cache_dir):
    # The SymPy view is made on request, not stored: after a hit the IR is rebuilt for it.
    code = textwrap.dedent("""
        import json
        from symgrad import compile_grad
        import api_funcs
        cf = compile_grad(api_funcs.scaled_product)
        cf.value_and_grad(1.5, 2)
        print(json.dumps([cf.stats["cache_hits"], cf.inspect("sympy"), cf.inspect("adjoint")]))
    """)
    env = {**os.environ, "SYMGRAD_CACHE_DIR": str(cache_dir),
           "PYTHONPATH": f"{ROOT}{os.pathsep}{Path(__file__).resolve().parent}"}
    runs = [json.loads(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                      text=True, timeout=300).stdout.strip().splitlines()[-1])
            for _ in range(2)]
    assert runs[0][0] == 0 and runs[1][0] > 0
    assert "x_bar" in runs[1][1] and "unavailable" not in runs[1][1] and "not available" not in runs[1][1]
    assert runs[1][1] == runs[0][1] and runs[1][2] == runs[0][2]
