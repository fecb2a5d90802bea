"""`symgrad.utils`: data loading (`symgrad.utils.data`)."""
from . import data

__all__ = ["data"]
