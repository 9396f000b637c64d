"""The one error type of the reference-data build."""
from __future__ import annotations


class ReferenceDataError(RuntimeError):
    """A reference dataset is missing, corrupt, or cannot be built from its source.

    Every message starts with the project error code `E3A_REF:` so callers and logs
    can match it without parsing the text.
    """

    CODE = "E3A_REF"

    def __init__(self, message: str) -> None:
        super().__init__(f"{self.CODE}: {message}")
