"""The scheduler's error tree; ``scheduler.api.status`` maps it to gRPC codes."""

from __future__ import annotations


class SkybatchError(Exception):
    """Base of every error skybatch raises on purpose."""


class InvalidArgument(SkybatchError):
    """A request is invalid. ``field`` names the culprit, ``problem`` says what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class InvalidJobSpec(InvalidArgument):
    """A job spec is invalid (field paths like ``resources.vcpus`` or ``specs[2].deadline``)."""


class NotFound(SkybatchError):
    """No such job or attempt (or not visible to the caller)."""


class Unauthenticated(SkybatchError):
    """Missing or wrong credentials (for workers: the attempt token)."""


class PermissionDenied(SkybatchError):
    """The caller is who it says, but may not do this (a user token on an admin call)."""


class Conflict(SkybatchError):
    """The request cannot apply in the object's current state."""
