"""Smoke run of `benchmarks/digits_mlp.py`: every engine takes a few steps and reports."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_digits_mlp_benchmark_smoke(tmp_path):
    out = tmp_path / "digits.json"
    r = subprocess.run([sys.executable, "-m", "benchmarks.digits_mlp", "--steps", "4", "--repeats", "1",
                        "--json", str(out)], capture_output=True, text=True, cwd=str(ROOT), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    import json
    res = json.loads(out.read_text())
    eng = res["engines"]
    for name in ("symgrad-eager", "symgrad-compiled"):
        assert eng[name]["steps_per_s"] > 0
    # Same initial weights and batches: every engine starts from the same loss.
    losses = [e["first_loss"] for e in eng.values() if "first_loss" in e]
    assert max(losses) - min(losses) < 1e-4
    assert "steps/s" in r.stdout
