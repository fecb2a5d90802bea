"""Train an MLP on the 8x8 digits with a compiled training step.

`symgrad.compile_module(model, loss_fn)` turns the model's forward pass and the loss into
one native function of the parameters, value and gradient together; the training loop is
the usual PyTorch one (`zero_grad`, forward, `backward`, `step`). Prints the loss and test
accuracy per epoch and saves a loss-curve PNG when matplotlib is installed.

Run: python examples/train_digits_compiled.py [--epochs 30] [--out digits_loss.png]
Needs scikit-learn for the real digits (pip install "symgrad[data]"); without it a
synthetic set of the same shape is used. SYMGRAD_EXAMPLE_FAST=1 runs a tiny version.
"""
import argparse
import os
import tempfile
import time

import symgrad as torch
from symgrad import nn

FAST = os.environ.get("SYMGRAD_EXAMPLE_FAST") == "1"


def load_data():
    try:
        X, y = torch.data.load_digits(flatten=True)  # float32 in [0, 1], int64 labels
    except ImportError as e:
        print(f"{e}\nusing a synthetic digits-shaped set instead")
        g = torch.Generator().manual_seed(7)
        protos = torch.rand(10, 64, generator=g)
        y = torch.randint(0, 10, (1797,), generator=g)
        X = (protos[y] + 0.35 * torch.randn(1797, 64, generator=g)).clamp(0, 1)
    torch.manual_seed(0)
    perm = torch.randperm(len(X))
    X, y = X[perm], y[perm]
    return X[:1500], y[:1500], X[1500:], y[1500:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2 if FAST else 30)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--out", default=None, help="loss-curve PNG (default: digits_loss.png)")
    args = ap.parse_args()

    X_train, y_train, X_test, y_test = load_data()
    if FAST:
        X_train, y_train = X_train[:256], y_train[:256]
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X_train, y_train),
                                         batch_size=args.batch, shuffle=True)

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    loss_fn = nn.CrossEntropyLoss()
    compiled = torch.compile_module(model, loss_fn)         # forward + loss -> one native function
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, fused=True)

    t0 = time.perf_counter()
    with torch.no_grad():
        compiled(X_train[:args.batch], y_train[:args.batch])  # compile now (value and gradient)
    print(f"compiled {type(model).__name__} + {type(loss_fn).__name__} in {time.perf_counter() - t0:.2f} s")

    losses = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        for xb, yb in loader:
            opt.zero_grad()
            loss = compiled(xb, yb)     # grad_fn=<CompiledFunctionBackward>
            loss.backward()             # native adjoint -> every parameter's .grad
            opt.step()
            losses.append(loss.item())
        dt = time.perf_counter() - t0
        with torch.no_grad():           # evaluation runs the eager model: same parameters
            acc = (model(X_test).argmax(1) == y_test).float().mean().item()
        print(f"epoch {epoch:3d}  loss {sum(losses[-len(loader):]) / len(loader):.4f}  "
              f"test accuracy {acc:.3f}  ({len(loader) / dt:.0f} steps/s)")

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return  # the plot is optional
    out = args.out or (os.path.join(tempfile.gettempdir(), "digits_loss.png") if FAST else "digits_loss.png")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(losses, lw=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy loss")
    ax.set_yscale("log")
    ax.set_title("MLP on 8x8 digits, compiled training step")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"loss curve saved to {out}")


if __name__ == "__main__":
    main()
