"""`symgrad.optim`: PyTorch-compatible optimizers (`SGD`, `Adam`, `AdamW`) and learning-rate
schedulers (`symgrad.optim.lr_scheduler`). Formulas, defaults and errors follow PyTorch 2.13
(spec/runtime-semantics.md, section 7)."""
from __future__ import annotations

from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]
