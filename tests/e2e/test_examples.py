"""Every example runs, and the seed examples print what the seed notebooks print."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
SLOW = {"train_digits_compiled.py"}


def run(path: Path, *args: str, **extra_env: str) -> str:
    env = dict(os.environ, PYTHONWARNINGS="ignore", MPLBACKEND="Agg", SYMGRAD_EXAMPLE_FAST="1", **extra_env)
    if "SYMGRAD_MNIST" not in extra_env:
        env.pop("SYMGRAD_MNIST", None)  # examples take their synthetic-data path unless told otherwise
    r = subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True, env=env, timeout=300,
                       cwd=str(ROOT))
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path):
    run(path)


def test_seed000_output():
    out = run(ROOT / "examples" / "seed000_loss_backward.py")
    assert out == (
        "tensor([1., 2.], requires_grad=True) tensor([100., 200.], grad_fn=<MulBackward0>)\n"
        "None\n"
        "tensor([100., 100.])\n"
        "tensor([1., 2.], requires_grad=True)\n"
        "tensor([0.9000, 1.9000], requires_grad=True)\n"
        "(tensor([36., 81.]), tensor([36., 81.], grad_fn=<MulBackward0>))\n"
        "(tensor([-12.,  -8.], grad_fn=<MulBackward0>), tensor([-12.,  -8.]))\n"
        "tensor([True, True])\n"
        "tensor([True, True])\n")


def test_seed002_output():
    lines = run(ROOT / "examples" / "seed002_autograd.py").splitlines()
    assert lines[0] == "tensor([-0.0197,  0.9841, -0.2759], requires_grad=True)"
    assert lines[1] == "tensor([1.9803, 2.9841, 1.7241], grad_fn=<AddBackward0>)"
    assert lines[6] == "tensor([-0.0197,  0.9841, -0.2759])"
    assert lines[8] == "tensor([1.9803, 2.9841, 1.7241])"
    assert lines[9:14] == ["tensor([3., 3., 3., 3.])"] * 5
    assert lines[14] == "Gradients w.r.t. weights (w): tensor([ -7.4605, -14.9209, -22.3814])"
    assert lines[15] == "Gradient w.r.t. bias (b): tensor([-7.4605])"


def test_seed001_output():
    lines = run(ROOT / "examples" / "seed001_gentle_intro.py").splitlines()
    assert lines[0].startswith("prediction: (1, 1000) loss: ")
    assert lines[1] == "first-layer weight moved by lr * grad: True"
    assert lines[2:] == ["tensor([True, True])", "tensor([True, True])"]


def test_seed001_loads_a_weights_file(tmp_path):
    import numpy as np
    import symgrad
    symgrad.manual_seed(5)
    state = symgrad.models.resnet18().state_dict()
    np.savez(tmp_path / "resnet18.npz", **{k: v.numpy() for k, v in state.items()})
    lines = run(ROOT / "examples" / "seed001_gentle_intro.py", str(tmp_path / "resnet18.npz")).splitlines()
    assert lines[1] == "first-layer weight moved by lr * grad: True"


def _assert_seed003_gradient(out: str) -> None:
    assert "Before backward pass: \n None\nAfter backward pass: \n tensor([[" in out
    # Border pixels are -1 in every image: the visible columns of each row are equal.
    grad_rows = [ln for ln in out.splitlines() if ln.strip().startswith("[") and "..." in ln]
    assert grad_rows
    for row in grad_rows:
        left, right = row.strip(" [],").split("...")
        vals = [v.strip() for v in (left + right).split(",") if v.strip()]
        assert len(set(vals)) == 1, row


def test_seed003_mnist_mlp_output(tmp_path):
    out = run(ROOT / "examples" / "seed003_mnist_mlp.py")
    assert out.startswith("MNIST files not given: using a synthetic MNIST-format set\n")
    _assert_seed003_gradient(out)
    # Real MNIST files (here: MNIST-format files in torchvision's layout) are read when given.
    import numpy as np
    from symgrad.data import write_idx
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = np.zeros((100, 28, 28), dtype=np.uint8)
    images[:, 4:24, 4:24] = rng.integers(0, 256, (100, 20, 20))
    write_idx(raw / "train-images-idx3-ubyte", images)
    write_idx(raw / "train-labels-idx1-ubyte", rng.integers(0, 10, 100).astype(np.uint8))
    out = run(ROOT / "examples" / "seed003_mnist_mlp.py", SYMGRAD_MNIST=str(tmp_path))
    assert out.startswith(f"MNIST from {tmp_path}\n")
    _assert_seed003_gradient(out)


def test_seed003_output():
    out = run(ROOT / "examples" / "seed003_autograd_mnist.py")
    lines = out.splitlines()
    assert lines[:2] == ["tensor([[ 1.0606, -0.1873],", "        [ 1.7177, -1.3912]], requires_grad=True)"]
    assert lines[4].startswith("<PowBackward0 object at 0x")
    assert lines[6:8] == ["None", "None"]
    assert "Before backward pass: \n None\nAfter backward pass: \n tensor([[" in out
    # Border pixels are -1 in every image: the visible columns of each row are equal.
    grad_rows = [ln for ln in lines if ln.strip().startswith("[") and "..." in ln]
    assert grad_rows
    for row in grad_rows:
        left, right = row.strip(" [],").split("...")
        vals = [v.strip() for v in (left + right).split(",") if v.strip()]
        assert len(set(vals)) == 1, row
