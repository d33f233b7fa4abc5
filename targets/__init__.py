"""Targets: one renderer per target (C, firmware) behind one interface."""
