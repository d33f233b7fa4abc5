"""Compiler passes: pure functions Policy -> Policy (or -> bytes for the last one).

A pipeline is a tuple of passes; with CHROMATIC_VALIDATE_PASSES=1 the pipeline runs
``Policy.validate()`` after each pass (see compiler/compile.py).
"""
