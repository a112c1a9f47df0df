"""Launch delay per cloud and region: seconds from launch request to a running worker.

Samples are ``started_at - created_at`` of attempts that started (negative values,
from clock skew, are dropped). Per ``cloud/region`` the median ``m`` of ``n`` samples
is shrunk toward the catalog's mean delay ``d0`` for the region (see
:class:`~scheduler.costs.priors.CatalogPriors`)::

    posterior_s = (n * m + k * d0) / (n + k),   k = delay_prior_samples

The median rather than the mean, because a few launches stuck behind a capacity
shortage would otherwise drag every estimate up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scheduler.costs.params import LaunchDelay
from scheduler.costs.priors import CatalogPriors
from scheduler.costs.settings import RefitSettings
from scheduler.costs.shrinkage import credibility


def fit_delays(
    attempts: pd.DataFrame, priors: CatalogPriors, knobs: RefitSettings
) -> tuple[LaunchDelay, ...]:
    """One estimate per ``cloud/region`` with at least one started attempt."""
    started = attempts[attempts["started_at"].notna() & attempts["created_at"].notna()]
    seconds = (started["started_at"] - started["created_at"]).dt.total_seconds()
    frame = pd.DataFrame(
        {"cloud": started["cloud"], "region": started["region"], "seconds": seconds}
    )
    frame = frame[frame["seconds"] >= 0]
    out = []
    for (cloud, region), group in frame.groupby(["cloud", "region"], sort=True):
        values = np.sort(group["seconds"].to_numpy(dtype=np.float64))
        n = len(values)
        median = float(np.median(values))
        prior = priors.launch_delay(str(cloud), str(region))
        out.append(
            LaunchDelay(
                key=f"{cloud}/{region}",
                n=n,
                median_s=median,
                prior_s=prior,
                posterior_s=credibility(median, n, prior, knobs.delay_prior_samples),
            )
        )
    return tuple(out)
