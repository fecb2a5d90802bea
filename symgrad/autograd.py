"""`symgrad.autograd`: functional autograd API, as `torch.autograd`."""
from __future__ import annotations

from contextlib import contextmanager

from .runtime.autograd import Node as Function  # noqa: F401  (graph node base class)
from .runtime.functional_autograd import backward, grad
from .runtime.gradcheck import GradcheckError, gradcheck, gradgradcheck
from .runtime.grad_mode import enable_grad, no_grad, set_grad_enabled, inference_mode  # noqa: F401

__all__ = ["backward", "grad", "gradcheck", "gradgradcheck", "GradcheckError", "set_detect_anomaly",
           "detect_anomaly"]

_anomaly = False


def set_detect_anomaly(mode: bool, check_nan: bool = True) -> None:
    """Accepted for compatibility; symgrad's errors already name the failing operation."""
    global _anomaly
    _anomaly = bool(mode)


@contextmanager
def detect_anomaly(check_nan: bool = True):
    global _anomaly
    prev, _anomaly = _anomaly, True
    try:
        yield
    finally:
        _anomaly = prev
