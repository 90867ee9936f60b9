"""The one exception type that carries a user-facing problem with an input.

Library code raises :class:`NncalcError`; the CLI catches it in one place and
prints ``str(error)`` on stderr with exit code 2.  The message names the file,
the field path inside it and what was expected versus what was found, e.g.
``problems/x.yaml:12: parameters.W1: expected shape 3×4 ..., got 3×3``.
An error in an argument of a library function, not in a file, names the argument
(``steps: expected a number of steps ...``); the CLI shows its option instead.
"""

from __future__ import annotations

from nncalc.escape import visible


class NncalcError(Exception):
    """An input nncalc cannot use, located as precisely as we know."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        path: str | None = None,
        line: int | None = None,
        argument: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.path = path
        self.line = line
        self.argument = argument  # the function argument at fault, e.g. "steps"

    def located(
        self, *, source: str | None = None, path: str | None = None, line: int | None = None
    ) -> NncalcError:
        """Fill in the location fields that are still unknown (innermost wins)."""
        self.source = self.source or source
        self.path = self.path or path
        self.line = self.line or line
        return self

    def __str__(self) -> str:
        where = ""
        if self.source:
            where = f"{self.source}:{self.line}: " if self.line else f"{self.source}: "
        elif self.line:
            where = f"line {self.line}: "
        field = self.path or self.argument
        field = f"{field}: " if field else ""
        return one_line(f"{where}{field}{self.message}")


def one_line(text: str) -> str:
    r"""The message as one line that a terminal prints as it is: control characters (a
    newline in a key a student wrote, say), bidi controls and line separators shown escaped
    (``\n``, ``\x1b``, ``\u202e``), by the rule of every text output
    (:func:`nncalc.escape.visible`)."""
    return visible(text)


class NumericError(NncalcError):
    """A computation produced inf or NaN; the message names the quantity."""
