"""The cost-model keeper of a simulation.

:class:`~scheduler.control.costmodel.CostModelKeeper` asks the store for the newest
model version on every planning tick, so that a refit by another process is picked up.
Nothing but the simulation writes a simulation's store, so :class:`SimCostModelKeeper`
asks only after it refitted itself. It also remembers the offerings the model adjusted
(a model is immutable, and the simulated clouds list the same offering objects tick
after tick), which the planner otherwise recomputes for every offering on every tick.
Both change nothing the planner sees.
"""

from __future__ import annotations

from adapters.base import Offering
from scheduler.control.costmodel import CostModelKeeper
from scheduler.costs import CostModel
from scheduler.domain import CostModelVersion


class _RememberingModel(CostModel):
    """A :class:`CostModel` that adjusts each offering object once."""

    def __init__(self, model: CostModel) -> None:
        super().__init__(model.params)
        # id -> (the offering, kept alive so its id is not reused; its adjusted copy)
        self._adjusted: dict[int, tuple[Offering, Offering]] = {}

    def offering(self, o: Offering) -> Offering:
        found = self._adjusted.get(id(o))
        if found is not None and found[0] is o:
            return found[1]
        adjusted = super().offering(o)
        self._adjusted[id(o)] = (o, adjusted)
        return adjusted


class SimCostModelKeeper(CostModelKeeper):
    """See the module docstring."""

    _remembered: tuple[int, CostModel] | None = None

    def current(self) -> tuple[int, CostModel]:
        if self._remembered is None:
            version, model = super().current()
            self._remembered = (version, _RememberingModel(model))
        return self._remembered

    def refit_now(self, *, trigger: str) -> CostModelVersion:
        version = super().refit_now(trigger=trigger)
        self._remembered = None
        return version
