"""Progress hooks for long work: the stages of a pipeline, and steps within one.

Library code calls a `Reporter`; the default one is silent. The CLI subclasses it with Rich bars,
a notebook or a service can subclass it to log. No torch here: the CLI imports it at start-up.
"""

from __future__ import annotations


class Reporter:
    """Progress hooks; the default is silent."""

    def stage(self, name: str, total: int | None = None) -> None:
        """A stage starts (`total` steps, None when unknown)."""

    def advance(self, done: int, total: int, info: str = "") -> None:
        """`done` of `total` steps of the current stage are finished."""

    def end(self) -> None:
        """The current stage is over."""
