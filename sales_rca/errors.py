"""Errors a user can cause, each with a one-line message: what was expected, what was found, what to do.

The CLI prints ``str(error)`` and exits 2; it never shows a traceback for these.
"""

from __future__ import annotations


class SalesRcaError(Exception):
    """Base class of every error sales-rca raises for bad input."""

    def __init__(self, message: str, *, expected: str | None = None, found: str | None = None):
        # Messages are shown as one line: collapse any newline a caller let through.
        super().__init__(" ".join(str(message).split()))
        self.expected = expected
        self.found = found


class CrmImportError(SalesRcaError):
    """A CRM export (or its stage history) cannot be used at all."""


class MappingError(CrmImportError):
    """A mapping file is malformed or names columns the export does not have."""


class CodebookError(SalesRcaError):
    """A loss-reason codebook is malformed."""


class SessionError(SalesRcaError):
    """A workshop session file or export cannot be opened or written."""


class ModelError(SalesRcaError):
    """A root-cause model rule was broken (e.g. verifying a why without evidence)."""


class BatchError(SalesRcaError):
    """A batch definition (clients file) or its parameters are invalid."""


class KernelStartError(BatchError):
    """A Jupyter kernel for a notebook run could not be started (after the retries)."""


class PipelineError(SalesRcaError):
    """A pipeline x-ray cannot be taken with the arguments given (e.g. a bad stage order)."""
