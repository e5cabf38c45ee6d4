"""Errors of the replay tools.

Recordings come from users' browsers, proxies and log files, so a broken one is an expected input,
not a bug: every reader turns it into a :class:`RecordingError` that names the file and the place
(line, entry, message) and says what is wrong, and the CLI prints ``str(err)`` instead of a
traceback.
"""

from __future__ import annotations

import os


class RecordingError(Exception):
    """A recording that cannot be read: ``file.har: entry 3, message 7: frame is not JSON``.

    ``location`` is human-oriented and 1-based ("line 4", "entry 2, message 7"); it may be empty
    when the problem concerns the whole file.
    """

    def __init__(self, path: str | os.PathLike[str], location: str, reason: str) -> None:
        self.path = os.fspath(path)
        self.location = location
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.location:
            return f"{self.path}: {self.location}: {self.reason}"
        return f"{self.path}: {self.reason}"

    def __reduce__(self) -> tuple[type[RecordingError], tuple[str, str, str]]:
        return (type(self), (self.path, self.location, self.reason))


class MissingCredentialsError(Exception):
    """A redacted login cannot be replayed because nobody told us the user's password.

    Recordings are redacted by default, so a replay against a fresh server must log in again
    with a password the user supplies (``--credentials user=password``).
    """

    def __init__(self, user: str) -> None:
        self.user = user
        super().__init__(
            f"the recording logs in as {user!r} with a redacted password; "
            f"give it with --credentials {user}=PASSWORD"
        )


class ReplayAborted(Exception):
    """The replay cannot go on at all (server down, credentials missing); ``str`` says why."""
