"""The schedforge exception hierarchy.

Every error a user can cause (a malformed file, an impossible instance, an
unknown method or option, a solver that is not installed) is a subclass of
:class:`SchedforgeError` with a message a person can act on. The CLI prints
``str(error)`` on one line and exits non-zero; it never shows a traceback for
these.
"""

from __future__ import annotations


class SchedforgeError(Exception):
    """Base class of every error raised on purpose by schedforge."""


class InvalidInstance(SchedforgeError, ValueError):
    """An instance violates its own data model (which job, which field, what)."""


class ParseError(SchedforgeError, ValueError):
    """A file could not be read; names the file, the line and what is wrong.

    Parameters
    ----------
    path
        The file being read.
    line
        1-based line number, or ``None`` when the problem is not tied to a line.
    message
        What is wrong, in words.
    """

    def __init__(self, path: object, line: int | None, message: str):
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class UnknownFormat(SchedforgeError, ValueError):
    """No reader or writer matches a file's extension or content."""


class UnknownProblem(SchedforgeError, KeyError):
    """A problem name that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class UnknownMethod(SchedforgeError, KeyError):
    """A method spec that is not registered for the problem; lists the valid ones."""

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidOption(SchedforgeError, TypeError):
    """An option a method does not accept, or a value of the wrong kind."""


class InfeasibleSolution(SchedforgeError):
    """A method returned a solution that fails the independent validator.

    This is always a bug in the method: ``solve()`` raises it rather than
    return a wrong answer.
    """


class SolverUnavailable(SchedforgeError):
    """A backend (CBC, HiGHS, CP-SAT, ...) is not installed or cannot start."""


class SolverError(SchedforgeError):
    """A backend started but failed (crashed, returned an error status)."""
