"""User-facing errors.

Every mistake a user can make in a config or a dataset raises a subclass of
`UserError`; the CLI turns it into a one-line message and exit code 2. Anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix: the message names the thing and the fix."""


class ConfigError(UserError):
    """The config is malformed; may carry several problems, reported together."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return self.problems[0]
        return f"{len(self.problems)} config problems:\n" + "\n".join(
            f"  - {p}" for p in self.problems
        )


class DataError(UserError):
    """A dataset is missing, unreadable, or has bad rows under the `error` policy."""


class TrainingError(UserError):
    """Training cannot go on (e.g. a non-finite loss); names step, term and batch."""
