"""`symgrad demo --fast` runs to completion: the compiler tour, then the digits MLP trained
with the compiled training step and with the eager runtime."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_fast_runs_to_completion():
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    r = subprocess.run([sys.executable, "-m", "symgrad", "demo", "--fast"], capture_output=True, text=True,
                       env=env, timeout=300, cwd=str(ROOT))
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout
    assert "native gradient" in out and "finite differences" in out
    assert "# SymPy view of pendulum" in out and "grad of L" in out  # the adjoint and SymPy stages
    assert "4. Digits MLP: compiled training step vs the eager runtime" in out
    assert "compiled training step unavailable" not in out, out[-2000:]
    rows = {m.group(1): m for m in re.finditer(
        r"^\s+(compiled|eager)\s+test accuracy (\d\.\d+)\s+final loss (\d+\.\d+)\s+(\d+) steps/s$", out, re.M)}
    assert set(rows) == {"compiled", "eager"}, out[-2000:]
    # Same model, same batches, same optimizer: the two runs learn the same thing.
    assert abs(float(rows["compiled"].group(3)) - float(rows["eager"].group(3))) < 1e-3
    assert float(rows["compiled"].group(2)) > 0.5 and float(rows["eager"].group(2)) > 0.5
    assert "demo finished in" in out
