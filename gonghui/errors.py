"""The one application error type of the portal.

Every rule that refuses something raises :class:`DomainError` with a machine-readable
``code`` and a Chinese ``message``; ``field_errors`` maps input fields to their own
Chinese messages. Views, serializers, forms, tasks and commands translate it into
their own error shape, so a rule is written once and refused the same way everywhere.
"""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the request; nothing has been written."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field_errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field_errors = field_errors or {}

    @classmethod
    def for_field(cls, field: str, code: str, message: str) -> DomainError:
        """An error about one input field: the message is also the field's message."""
        return cls(code, message, field_errors={field: [message]})

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "fields": self.field_errors}

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r})"
