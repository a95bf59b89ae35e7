"""The one exception users see: a single line saying what was wrong and what is allowed."""


class CashError(ValueError):
    """Bad input, reported to the user as one line without a traceback.

    Raised at the boundary (profile, space, magic options); the magic turns it into an
    IPython ``UsageError`` so notebooks show the message and nothing else.
    """


class Interrupted(CashError):
    """The user stopped a step (Ctrl-C): one line, and whatever had arrived is kept."""
