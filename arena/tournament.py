"""A tournament's public names, where scripts and the API find them: `run` (arena.runner) and
`plan_run` (arena.run_plan). The engine itself imports the modules that define them."""
from __future__ import annotations

from arena.run_dir import open_run_dir
from arena.run_plan import Plan, plan_run, scenario_and_personas
from arena.runner import RunSummary, run
from arena.store import STORE_NAME

__all__ = ["STORE_NAME", "Plan", "RunSummary", "open_run_dir", "plan_run", "run",
           "scenario_and_personas"]
