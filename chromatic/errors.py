"""User-facing errors: the CLI prints their message as one line and exits non-zero."""


class ChromaticError(Exception):
    """A problem with the user's input (file, option, blob); never a bug in chromatic."""

    exit_code = 1


class PolicyFormatError(ChromaticError):
    """A policy file breaks the documented format (docs/policy-format.md)."""


class BlobError(ChromaticError):
    """A blob is truncated, corrupt, or of an unsupported version (docs/blob-format.md).

    ``code`` is the C kernel's ``chromatic_status`` for the same refusal
    (``chromatic.compiler.blob.Status``; docs/c-api.md), or None where no check of the
    blob's bytes is involved.
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
