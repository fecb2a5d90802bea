"""symgrad's benchmark harness: symgrad against tape engines and compilers (issue 7).

Run `python -m benchmarks --help` (or `symgrad bench --help`) from the repository root.
Importing this package loads nothing heavy: the thread count must be fixed (environment
variables) before NumPy is imported, which `benchmarks.__main__.main` takes care of.
"""
from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point shared by `python -m benchmarks` and `symgrad bench`."""
    from .__main__ import main as _main
    return _main(argv)
