"""Front end: Python source -> structured SSA (`parse`), with name resolution (`resolve`)."""
from .parse import parse, load_function, parameters

__all__ = ["parse", "load_function", "parameters"]
