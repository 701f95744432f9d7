"""The one dispatch: which executor plays a run, chosen once, before the first match."""
from __future__ import annotations

from typing import TYPE_CHECKING

from arena.executors.base import Executor
from arena.executors.local import InProcessExecutor

if TYPE_CHECKING:
    from arena.run_plan import Plan


def choose(plan: Plan, pending: int) -> Executor:
    """Ray when the config says so; worker processes when the run calls for them (offline
    agents and a large run, or many LLM matches in flight; see `workers.pool_size`); else
    this process."""
    execution = plan.config.execution
    if execution.executor == "ray":
        from arena.executors.ray import RayExecutor

        return RayExecutor(plan)
    from arena.executors.workers import WorkerExecutor, pool_size

    size = pool_size(plan, pending)
    if size:
        return WorkerExecutor(plan, size)
    return InProcessExecutor(plan.factory, plan.config.condition, execution.concurrency,
                             plan.budget)
