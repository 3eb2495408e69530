"""The error of a document that cannot be used (importable without the schemas)."""

from __future__ import annotations

from sigverify.errors import InputError

__all__ = ["DocumentError"]


class DocumentError(InputError):
    """A document that cannot be used. ``path`` is the JSON path, ``source`` the input.

    ``problem`` is the message alone; ``str()`` reads ``source: path: problem``.
    """

    def __init__(self, problem: str, *, path: str | None = None, source: str | None = None) -> None:
        super().__init__(problem, path=path)
        self.problem = problem
        self.source = source
        if source:
            self.args = (f"{source}: {self.args[0]}",)
