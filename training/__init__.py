"""Training: ES over the shared weights and ENAS over the partitions (paper §3)."""
