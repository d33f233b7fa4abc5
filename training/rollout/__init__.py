"""The rollout engine: one interface, a local process pool and a Ray backend (docs/training.md)."""
