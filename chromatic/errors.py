"""User-facing errors: the CLI prints their message as one line and exits non-zero."""


class ChromaticError(Exception):
    """A problem with the user's input (file, option, blob); never a bug in chromatic."""

    exit_code = 1


class PolicyFormatError(ChromaticError):
    """A policy file breaks the documented format (docs/policy-format.md)."""


class BlobError(ChromaticError):
    """A blob is truncated, corrupt, or of an unsupported version (docs/blob-format.md)."""
