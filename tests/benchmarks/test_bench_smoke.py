"""Smoke run of the benchmark harness: every workload at tiny sizes, correctness only.

Checks that the hand-written reference gradients are right (finite differences), that the
functions written for `@compile_grad` compute the same objective, and that every available
engine reproduces the reference (symgrad's compiler may skip, with a note, what it does not
support yet; it may never return a wrong gradient).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
# `benchmarks/` is not installed, only the checkout has it; on the path, this regular package
# wins over the namespace package that this test folder (tests/benchmarks) would otherwise be.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import adbench, engines, harness, workloads  # noqa: E402
from benchmarks.base import Workload  # noqa: E402

WORKLOADS = workloads.all_workloads()
IDS = [w.name for w in WORKLOADS]


def _args(wl: Workload):
    try:
        return wl.make_args(True)
    except adbench.DataMissing as e:
        pytest.skip(str(e))


@pytest.mark.parametrize("wl", WORKLOADS, ids=IDS)
def test_engines_agree_with_reference(wl: Workload, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path))  # compiled code stays out of the user's cache
    args = _args(wl)
    ref = harness.reference(wl, args)
    opts = harness.Options(smoke=True)
    for eng in engines.select("numpy,symgrad-eager,torch,symgrad"):
        res = harness.run_pair(wl, eng, args, ref, opts)
        if eng.name == "symgrad":
            assert res.status in ("ok", "skipped"), (res.note, res.extra.get("traceback"))
        elif eng.name == "torch" and res.status == "skipped":
            assert "not installed" in res.note
        else:
            assert res.status == "ok", (eng.name, res.note, res.extra.get("traceback"))
        assert res.status != "skipped" or res.note, "every skip carries a note"
        assert res.value_and_grad is None, "smoke mode does not time"


@pytest.mark.parametrize("wl", WORKLOADS, ids=IDS)
def test_user_function_is_the_same_objective(wl: Workload):
    """The plain-Python function given to `@compile_grad`, run by CPython, matches the reference."""
    args = _args(wl)
    got = float(wl.user_fn(*wl.user_args(args)))
    want = wl.numpy_value(**args)
    assert got == pytest.approx(want, rel=1e-5 if wl.dtype == "float32" else 1e-11)


@pytest.mark.parametrize("wl", WORKLOADS, ids=IDS)
def test_reference_gradient_matches_finite_differences(wl: Workload):
    """Directional derivatives along two random directions, in float64."""
    args = {k: (v.astype(np.float64) if isinstance(v, np.ndarray) and v.dtype == np.float32 else v)
            for k, v in _args(wl).items()}
    _, grads = wl.numpy_value_and_grad(**args)
    r = np.random.default_rng(0)
    for _ in range(2):
        dirs = {k: r.standard_normal(np.shape(args[k])) for k in wl.wrt}

        def f(s: float) -> float:
            moved = dict(args)
            for k in wl.wrt:
                moved[k] = args[k] + s * (dirs[k] if isinstance(args[k], np.ndarray) else float(dirs[k]))
            return wl.numpy_value(**moved)

        eps = 1e-6
        fd = (f(eps) - f(-eps)) / (2 * eps)
        an = sum(float(np.sum(np.asarray(g) * dirs[k])) for k, g in zip(wl.wrt, grads))
        assert an == pytest.approx(fd, rel=1e-6, abs=1e-8)


def test_mismatch_is_a_failure_and_is_not_timed():
    wl = workloads.select("W5")[0]
    args = wl.make_args(True)
    value, grads = harness.reference(wl, args)
    wrong = (value, [g + 1.0 for g in grads])
    res = harness.run_pair(wl, engines.NumpyEngine(), args, wrong, harness.Options(samples=7))
    assert res.status == "failed" and "d/dw" in res.note
    assert res.forward is None and res.value_and_grad is None


def test_missing_package_is_a_skip_with_a_note():
    class Absent(engines.AutogradEngine):
        name, package = "absent", "no_such_package_for_symgrad_tests"

    wl = workloads.select("W5")[0]
    args = wl.make_args(True)
    res = harness.run_pair(wl, Absent(), args, harness.reference(wl, args), harness.Options(smoke=True))
    assert res.status == "skipped" and "not installed" in res.note


def test_timing_takes_samples():
    t = harness.time_calls(lambda: sum(range(100)), samples=7, min_sample_s=0.001, warmup_s=0.0)
    assert t.samples == 7 and 0 < t.min_s <= t.median_s and t.calls_per_sample >= 1


def test_adbench_readers_and_generator():
    try:
        g = adbench.read_gmm(adbench.data_dir() / "gmm/1k/gmm_d2_K5.txt")
        lstm = adbench.read_lstm(adbench.data_dir() / "lstm/lstm_l2_c1024.txt")
    except FileNotFoundError as e:
        pytest.skip(str(e))
    assert g["alphas"].shape == (5,) and g["means"].shape == (5, 2) and g["icf"].shape == (5, 3)
    assert g["x"].shape == (1000, 2) and g["wishart_gamma"] == 1.0 and g["wishart_m"] == 0
    assert g["alphas"][0] == -0.649014 and g["x"][-1, 1] == -0.447613
    assert lstm["main_params"].shape == (4, 56) and lstm["extra_params"].shape == (3, 14)
    assert lstm["state"].shape == (4, 14) and lstm["sequence"].shape == (1024, 14)
    a, b = adbench.make_gmm(32, 50, 100), adbench.make_gmm(32, 50, 100)
    assert a["icf"].shape == (50, 32 * 33 // 2) and np.array_equal(a["x"], b["x"])


def test_cli_writes_json(tmp_path: Path):
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--quiet", "--workloads", "W5,W2",
                           "--engines", "numpy,symgrad-eager", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["smoke"] and doc["meta"]["threads"]["requested"] == 1 and doc["meta"]["cpu"]
    assert [(r["workload"], r["engine"], r["status"]) for r in doc["results"]] == [
        ("W5", "numpy", "ok"), ("W5", "symgrad-eager", "ok"), ("W2", "numpy", "ok"), ("W2", "symgrad-eager", "ok")]
    assert "| workload | engine |" not in proc.stdout and "W5" in proc.stdout
