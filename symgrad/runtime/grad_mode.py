"""Grad mode: `no_grad`, `enable_grad`, `set_grad_enabled`, `inference_mode` (thread-local)."""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable


class _State(threading.local):
    def __init__(self) -> None:
        self.enabled = True
        self.inference = False


_state = _State()


def is_grad_enabled() -> bool:
    return _state.enabled


def is_inference_mode_enabled() -> bool:
    return _state.inference


class _DecoratorContextManager:
    """A context manager that also works as `@cm` and `@cm()` on functions."""

    def __call__(self, fn: Callable | None = None) -> Any:
        if fn is None:
            return self

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)
        return wrapper

    def clone(self):
        return type(self)()


class _GradModeMeta(type):
    # `@no_grad` (no parentheses) passes the function to the class itself.
    def __call__(cls, *args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]) and cls._accepts_bare_decorator:
            return super().__call__()(args[0])
        return super().__call__(*args, **kwargs)


class no_grad(_DecoratorContextManager, metaclass=_GradModeMeta):
    """Disable gradient tracking inside the block; restore the previous mode on exit."""

    _accepts_bare_decorator = True

    def __init__(self) -> None:
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        self._prev.append(_state.enabled)
        _state.enabled = False

    def __exit__(self, *exc: Any) -> None:
        _state.enabled = self._prev.pop()


class enable_grad(no_grad):
    """Re-enable gradient tracking inside a `no_grad` block."""

    def __enter__(self) -> None:
        self._prev.append(_state.enabled)
        _state.enabled = True


class set_grad_enabled(_DecoratorContextManager):
    """Set grad mode now (plain call) or for a block (context manager)."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): argument 'enabled' (position 1) must be bool, "
                            f"not {type(mode).__name__}")
        self._prev = _state.enabled
        self.mode = mode
        _state.enabled = mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        _state.enabled = self._prev

    def clone(self):
        return set_grad_enabled(self.mode)


class inference_mode(_DecoratorContextManager, metaclass=_GradModeMeta):
    """Like `no_grad`, and marks the tensors made inside as inference tensors."""

    _accepts_bare_decorator = True

    def __init__(self, mode: bool = True) -> None:
        self.mode = mode
        self._prev: list[tuple[bool, bool]] = []

    def __enter__(self) -> None:
        self._prev.append((_state.enabled, _state.inference))
        if self.mode:
            _state.enabled = False
            _state.inference = True
        else:
            _state.inference = False

    def __exit__(self, *exc: Any) -> None:
        _state.enabled, _state.inference = self._prev.pop()

    def clone(self):
        return inference_mode(self.mode)
