"""Coded errors. Every failure the project raises carries one E3A code and a context
mapping, so that callers (dbt, the CLI, run reports) can show and record it."""
from __future__ import annotations

from typing import Any


class Seg3aError(Exception):
    """A failure with a binding error code (e.g. `E3A_S0_001_UPSTREAM_GATE_FAILED`)."""

    def __init__(self, code: str, message: str, **context: Any) -> None:
        self.code = code
        self.message = message
        self.context = context
        super().__init__(f"{code}: {message}" + (f" {context}" if context else ""))

    @property
    def error_class(self) -> str | None:
        return self.context.get("error_class")


class ReferenceDataError(Seg3aError):
    """Reference data missing or not matching its recorded digest."""
