"""ADBench data (readers and the GMM generator) and the GMM and LSTM workloads.

File formats are ADBench's (docs/FileFormat.md in microsoft/ADBench): whitespace-separated
numbers, so the readers parse tokens rather than lines. The data directory is
`$SYMGRAD_ADBENCH_DATA`, else `../shared/adbench-data` next to the repository.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .base import Args, Workload
from .gmm import gmm_array, gmm_torch, gmm_user, gmm_value, gmm_value_and_grad, tril_selector
from .lstm import lstm_array, lstm_jax, lstm_torch, lstm_user, lstm_value, lstm_value_and_grad

GMM_SEED = 31337
"""The seed of the generated GMM instances (ADBench's generator uses the same number)."""


class DataMissing(FileNotFoundError):
    """An ADBench file is not where the harness looks; the workload is skipped with this note."""


def data_dir() -> Path:
    env = os.environ.get("SYMGRAD_ADBENCH_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "adbench-data"


def _data_file(rel: str) -> Path:
    path = data_dir() / rel
    if not path.is_file():
        raise DataMissing(f"ADBench file {rel} not found under {data_dir()} (set SYMGRAD_ADBENCH_DATA)")
    return path


def read_gmm(path: Path, replicate_point: bool = False) -> dict[str, Any]:
    """An ADBench GMM instance: d k n, alphas, means, icf, x (or one point to replicate), gamma m."""
    tok = path.read_text().split()
    d, k, n = (int(t) for t in tok[:3])
    vals = np.array(tok[3:-2], dtype=np.float64)
    icf_size = d * (d + 1) // 2
    alphas, vals = vals[:k], vals[k:]
    means, vals = vals[:k * d].reshape(k, d), vals[k * d:]
    icf, vals = vals[:k * icf_size].reshape(k, icf_size), vals[k * icf_size:]
    x = np.tile(vals[:d], (n, 1)) if replicate_point else vals.reshape(n, d)
    return {"alphas": alphas, "means": means, "icf": icf, "x": x,
            "wishart_gamma": float(tok[-2]), "wishart_m": int(tok[-1])}


def make_gmm(d: int, k: int, n: int, seed: int = GMM_SEED) -> dict[str, Any]:
    """A GMM instance with ADBench's generator distributions: alphas, icf and x standard normal,
    means uniform on [0, 1), Wishart gamma 1 and m 0."""
    r = np.random.default_rng(seed)
    return {"alphas": r.standard_normal(k), "means": r.uniform(0.0, 1.0, (k, d)),
            "icf": r.standard_normal((k, d * (d + 1) // 2)), "x": r.standard_normal((n, d)),
            "wishart_gamma": 1.0, "wishart_m": 0}


def read_lstm(path: Path) -> dict[str, Any]:
    """An ADBench LSTM instance: l c b, main params (2l x 4b), extra params (3 x b),
    state (2l x b), the text as c one-hot-like rows of b bits."""
    tok = path.read_text().split()
    l, c, b = (int(t) for t in tok[:3])
    vals = np.array(tok[3:], dtype=np.float64)
    sizes = {"main_params": (2 * l, 4 * b), "extra_params": (3, b), "state": (2 * l, b), "sequence": (c, b)}
    out: dict[str, Any] = {}
    at = 0
    for name, shape in sizes.items():
        size = shape[0] * shape[1]
        out[name] = vals[at:at + size].reshape(shape)
        at += size
    if at != vals.size:
        raise ValueError(f"{path}: expected {at} numbers after the header, found {vals.size}")
    return out


def _with_selector(inst: dict[str, Any]) -> Args:
    inst["tril_sel"] = tril_selector(inst["x"].shape[1])
    return inst


def _gmm_file_args(smoke: bool) -> Args:
    inst = read_gmm(_data_file("gmm/1k/gmm_d2_K5.txt"))
    if smoke:
        inst["x"] = inst["x"][:20].copy()
    return _with_selector(inst)


def _gmm_generated_args(smoke: bool) -> Args:
    return _with_selector(make_gmm(4, 3, 15) if smoke else make_gmm(32, 50, 10_000))


def _lstm_args(smoke: bool) -> Args:
    inst = read_lstm(_data_file("lstm/lstm_l2_c1024.txt"))
    if smoke:
        inst["sequence"] = inst["sequence"][:6].copy()
    return inst


_GMM_WRT = ("alphas", "means", "icf")
_LSTM_WRT = ("main_params", "extra_params")

ADBENCH = [
    Workload("GMM-d2K5n1k", "ADBench GMM d=2, K=5, n=1000 (gmm/1k/gmm_d2_K5.txt)", _gmm_file_args,
             _GMM_WRT, gmm_user, gmm_value, gmm_value_and_grad, torch_fn=gmm_torch, array_fn=gmm_array),
    Workload("GMM-d32K50n10k", f"ADBench GMM d=32, K=50, n=10000 (generated, seed {GMM_SEED})",
             _gmm_generated_args, _GMM_WRT, gmm_user, gmm_value, gmm_value_and_grad, torch_fn=gmm_torch,
             array_fn=gmm_array, notes="instance generated with ADBench's distributions"),
    Workload("LSTM-l2c1024", "ADBench LSTM l=2, c=1024 (lstm/lstm_l2_c1024.txt)", _lstm_args, _LSTM_WRT,
             lstm_user, lstm_value, lstm_value_and_grad, torch_fn=lstm_torch, array_fn=lstm_array,
             jax_fn=lstm_jax, notes="JAX: lax.scan"),
]
