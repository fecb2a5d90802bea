"""ResNet-18 forward+backward time, symgrad against PyTorch eager (CPU, one thread).

Run from the repository root: `python -m benchmarks.resnet18 [--batch 1 8] [--repeat 10]`.
Thread counts are pinned through the environment before NumPy loads, and PyTorch gets
`torch.set_num_threads(1)`, so both sides run their BLAS on one core. Both models are in
training mode (batch statistics), as in seed 001; each timed call is a forward pass, the
seed's `(prediction - labels).sum()` loss and its backward pass, with gradients reset.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402


def _best_ms(steps: list[Callable[[], Any]], repeat: int, warmup: int = 2) -> list[tuple[float, float]]:
    """(best, median) milliseconds per step; the steps alternate, so load from other
    processes falls on all of them alike."""
    for _ in range(warmup):
        for step in steps:
            step()
    times: list[list[float]] = [[] for _ in steps]
    for _ in range(repeat):
        for step, t in zip(steps, times):
            t0 = time.perf_counter()
            step()
            t.append((time.perf_counter() - t0) * 1e3)
    return [(min(t), float(np.median(t))) for t in times]


def _symgrad_step(batch: int) -> Callable[[], Any]:
    import symgrad
    symgrad.manual_seed(0)
    model = symgrad.models.resnet18()
    data = symgrad.rand(batch, 3, 64, 64)
    labels = symgrad.rand(batch, 1000)

    def step() -> None:
        model.zero_grad()
        (model(data) - labels).sum().backward()
    return step


def _torch_step(batch: int) -> Callable[[], Any] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = _torch_resnet18(torch)
    data = torch.rand(batch, 3, 64, 64)
    labels = torch.rand(batch, 1000)

    def step() -> None:
        model.zero_grad()
        (model(data) - labels).sum().backward()
    return step


def _torch_resnet18(torch: Any) -> Any:
    """torchvision's resnet18 rebuilt from symgrad's definition (torchvision is not needed):
    the same module tree with torch.nn layers, loaded with symgrad's initial weights."""
    try:
        import torchvision
        return torchvision.models.resnet18()
    except ImportError:
        pass
    import symgrad
    nn = torch.nn

    def convert(m: Any) -> Any:
        kind = type(m).__name__
        if kind == "Conv2d":
            return nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, bias=m.bias is not None)
        if kind == "BatchNorm2d":
            return nn.BatchNorm2d(m.num_features)
        if kind == "ReLU":
            return nn.ReLU(inplace=m.inplace)
        if kind == "MaxPool2d":
            return nn.MaxPool2d(m.kernel_size, m.stride, m.padding)
        if kind == "AdaptiveAvgPool2d":
            return nn.AdaptiveAvgPool2d(m.output_size)
        if kind == "Linear":
            return nn.Linear(m.in_features, m.out_features)
        if kind == "Sequential":
            return nn.Sequential(*(convert(c) for c in m))
        holder = _torch_block(torch, m.downsample is not None) if kind == "BasicBlock" else _torch_resnet(torch)
        for name, child in m.named_children():
            setattr(holder, name, convert(child))
        return holder

    ours = symgrad.models.resnet18()
    model = convert(ours)
    model.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in ours.state_dict().items()})
    return model


def _torch_block(torch: Any, has_downsample: bool) -> Any:
    class BasicBlock(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += self.downsample(x) if has_downsample else x
            return self.relu(out)
    return BasicBlock()


def _torch_resnet(torch: Any) -> Any:
    class ResNet(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))
    return ResNet()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args(argv)
    print(f"resnet18 forward+backward, 3x64x64 images, 1 thread (best / median of {args.repeat}, ms; "
          "the two alternate)")
    print(f"{'batch':>5}  {'symgrad':>17}  {'PyTorch eager':>17}  {'ratio (best)':>12}")
    for batch in args.batch:
        steps = [_symgrad_step(batch)]
        step = _torch_step(batch)
        steps += [step] if step is not None else []
        ours, theirs = (_best_ms(steps, args.repeat) + [None])[:2]
        ratio = f"{ours[0] / theirs[0]:.2f}x" if theirs else "n/a"
        their_txt = f"{theirs[0]:7.1f} / {theirs[1]:7.1f}" if theirs else "not installed"
        print(f"{batch:>5}  {ours[0]:7.1f} / {ours[1]:7.1f}  {their_txt:>17}  {ratio:>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
