"""mergekit: the paperwork of a school's attendance and children-missing-education policy."""

__version__ = "0.1.0"

__all__ = ["__version__"]
