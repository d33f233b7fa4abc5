"""Evolution strategies for the shared weights (paper §3.1, Appendix B.3)."""
