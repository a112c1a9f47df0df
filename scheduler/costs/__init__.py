"""The cost model: prices, spot hazards, runtime error and launch delays refitted from
history, as pure functions over pandas frames.

``refit(attempts, jobs, billing, catalog, settings=...)`` checks the frames (their
columns are documented in :mod:`scheduler.costs.frames`), measures the accuracy of a
fit on all but the newest data against the catalog, and returns the parameters fitted
on all of it. ``CostModel(params).offering(o)`` turns a catalog offering into the one
the planner should see; ``CostModel.catalog()`` changes nothing. ``diff`` lists what
moved between two fits. No I/O and no clock here: the store builds the frames and
keeps the versions.

Modules: ``frames`` (input schemas), ``keys`` (grouping keys, instance families),
``shrinkage`` (the two shrinkage formulas), ``priors`` (catalog priors), ``prices``,
``hazards``, ``runtimes``, ``delays`` (one estimate each), ``params`` (fitted values,
JSON), ``model`` (applying them), ``accuracy`` (held-back evaluation), ``refit``,
``diff``, ``settings``, ``errors``.
"""

from __future__ import annotations

from scheduler.costs.diff import ParamChange, diff
from scheduler.costs.errors import CostModelError, FrameSchemaError
from scheduler.costs.frames import (
    ATTEMPT_COLUMNS,
    BILLING_COLUMNS,
    JOB_COLUMNS,
    empty_attempts,
    empty_billing,
    empty_jobs,
)
from scheduler.costs.keys import family
from scheduler.costs.model import CostModel
from scheduler.costs.params import (
    CostModelParams,
    HazardEstimate,
    LaunchDelay,
    PriceRatio,
    RuntimeFactor,
)
from scheduler.costs.refit import FitResult, refit
from scheduler.costs.settings import RefitSettings

__all__ = [
    "ATTEMPT_COLUMNS",
    "BILLING_COLUMNS",
    "JOB_COLUMNS",
    "CostModel",
    "CostModelError",
    "CostModelParams",
    "FitResult",
    "FrameSchemaError",
    "HazardEstimate",
    "LaunchDelay",
    "ParamChange",
    "PriceRatio",
    "RefitSettings",
    "RuntimeFactor",
    "diff",
    "empty_attempts",
    "empty_billing",
    "empty_jobs",
    "family",
    "refit",
]
