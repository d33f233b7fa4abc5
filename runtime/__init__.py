"""Runtimes: load a blob and run it (numpy reference, Numba, C through cffi)."""
