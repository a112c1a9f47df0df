"""The planning function a simulation hands the control loop.

A policy of :mod:`solver.policies`, by name, optionally behind :class:`StableIds`: the
store names jobs with random ids, and the solver breaks ties between equal jobs by id,
so two runs of one scenario could place equal jobs differently. :class:`StableIds`
shows the policy ids that follow submission order instead and maps its decisions
back; what the policy decides is otherwise untouched.
"""

from __future__ import annotations

from dataclasses import replace

import solver
from solver.policies import Policy, get


class StableIds:
    """Call ``policy`` with each job's id replaced by ``stable[id]``."""

    def __init__(self, policy: Policy, stable: dict[str, str]) -> None:
        self.policy = policy
        #: store id -> stable id; the engine adds each job as it submits it.
        self.stable = stable

    def __call__(
        self, problem: solver.Problem, *, time_limit_s: float, hint: solver.Plan | None
    ) -> solver.Plan:
        back = {self.stable[j.id]: j.id for j in problem.jobs}
        renamed = replace(
            problem, jobs=tuple(replace(j, id=self.stable[j.id]) for j in problem.jobs)
        )
        plan = self.policy(renamed, time_limit_s=time_limit_s, hint=self._rename(hint, self.stable))
        decisions = {
            back[k]: replace(d, job_id=back[k]) for k, d in plan.decisions.items() if k in back
        }
        return replace(plan, decisions=decisions)

    @staticmethod
    def _rename(plan: solver.Plan | None, names: dict[str, str]) -> solver.Plan | None:
        if plan is None:
            return None
        decisions = {
            names[k]: replace(d, job_id=names[k]) for k, d in plan.decisions.items() if k in names
        }
        return replace(plan, decisions=decisions)


def planning_function(name: str, stable: dict[str, str] | None) -> Policy:
    """The policy ``name``; behind :class:`StableIds` over ``stable`` when given."""
    policy = get(name)
    return policy if stable is None else StableIds(policy, stable)
