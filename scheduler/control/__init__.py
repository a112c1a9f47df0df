"""The control loop (plan -> launch -> reconcile) and its steps."""

from scheduler.control.loop import ControlLoop, TickStats
from scheduler.control.settings import ControlSettings

__all__ = ["ControlLoop", "ControlSettings", "TickStats"]
