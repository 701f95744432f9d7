"""A run's budget: `[execution] max_calls`, `max_tokens_total` and `max_cost` (where every model
used has prices). The run counts what its store holds (all parts of a resumed run) plus what its
matches in flight could still spend, and starts no match that could carry it past a limit; it
then stops cleanly, says so, and `--resume` with a larger budget goes on.

A match's bound is the dry run's estimate per match with every reply `max_tokens` long, times
SAFETY (the estimate counts about four characters a token): generous, so that a stop comes
before a limit, never after. Cost counts every token at the dearest used model's prices.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arena.store import MatchRow, Store
    from arena.run_plan import Plan

SAFETY = 1.5
LIMITS = {"calls": "max_calls", "tokens": "max_tokens_total", "cost": "max_cost"}


@dataclass
class Budget:
    limits: dict[str, float]  # "calls", "tokens", "cost" -> the configured limit
    per_match: dict[str, float]  # the most one match could spend
    prices: tuple[float, float]  # per 1M prompt and completion tokens (the dearest model's)
    spent: dict[str, float] = field(default_factory=lambda: {k: 0.0 for k in LIMITS})
    reserved: dict[str, float] = field(default_factory=lambda: {k: 0.0 for k in LIMITS})
    stopped: str | None = None  # why no further match was started
    _changed: Any = None  # an asyncio.Condition, made in the loop that plays the matches

    async def admit(self) -> bool:
        """May one more match start? Reserves its bound when it may. While matches in flight
        hold reservations that block it, it waits for one of them to end and asks again."""
        import asyncio

        if self._changed is None:
            self._changed = asyncio.Condition()
        async with self._changed:
            while self.stopped is None:
                over = next((what for what, limit in self.limits.items()
                             if self.spent[what] + self.reserved[what] + self.per_match[what]
                             > limit), None)
                if over is None:
                    for what in self.limits:
                        self.reserved[what] += self.per_match[what]
                    return True
                if self.reserved[over] <= 0:  # nothing in flight: the limit itself is reached
                    limit = self.limits[over]
                    self.stopped = (f"[execution] {LIMITS[over]} = {_shown(over, limit)}: "
                                    f"{_shown(over, self.spent[over])} spent, and the next "
                                    f"match could spend up to "
                                    f"{_shown(over, self.per_match[over])} more")
                    break
                await self._changed.wait()  # a match in flight ends: its reservation goes
            return False

    async def settle(self, row: MatchRow | None) -> None:
        """A match that was admitted has ended (None: it raised): its bound is released, what
        it spent counted, and a match waiting in `admit` asks again."""
        for what in self.limits:
            self.reserved[what] = max(0.0, self.reserved[what] - self.per_match[what])
        if row is not None:
            self.add(*_spent(row.match[21], row.match[22], row.match[23]))
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()

    def add(self, calls: float, prompt: float, completion: float) -> None:
        self.spent["calls"] += calls
        self.spent["tokens"] += prompt + completion
        self.spent["cost"] += (prompt * self.prices[0] + completion * self.prices[1]) / 1e6

    def as_dict(self) -> dict[str, Any]:
        return {"limits": {LIMITS[k]: v for k, v in self.limits.items()},
                "per_match_bound": {LIMITS[k]: round(self.per_match[k], 6) for k in self.limits},
                "spent": {LIMITS[k]: round(self.spent[k], 6) for k in self.limits},
                "stopped": self.stopped}


def _spent(calls: Any, prompt: Any, completion: Any) -> tuple[float, float, float]:
    return float(calls or 0), float(prompt or 0), float(completion or 0)


def _shown(what: str, value: float) -> str:
    return f"${value:,.4f}" if what == "cost" else f"{value:,.0f}"


def used_models(plan: Plan) -> list[Any]:
    config = plan.config
    names = {n for a in config.agents.values() if a.kind == "llm"
             for n in (a.model, a.extractor_model) if n in config.models}
    return [config.models[n] for n in sorted(names)]


def budget_of(plan: Plan) -> Budget | None:
    """The run's budget, or None when it has none (or no LLM agent spends anything)."""
    from arena.estimate import estimate

    execution = plan.config.execution
    limits = {what: float(getattr(execution, key)) for what, key in LIMITS.items()
              if getattr(execution, key) is not None}
    models = used_models(plan)
    if not limits or not models:
        return None
    bound = match_bound(plan, estimate)
    prices = (max(m.price_prompt_per_1m or 0.0 for m in models),
              max(m.price_completion_per_1m or 0.0 for m in models))
    per_match = {"calls": bound["calls"], "tokens": bound["prompt"] + bound["completion"],
                 "cost": (bound["prompt"] * prices[0] + bound["completion"] * prices[1]) / 1e6}
    return Budget(limits, per_match, prices)


def match_bound(plan: Plan, estimate: Any) -> dict[str, float]:
    """The most one match could spend: the estimate's mean per match with replies of
    `max_tokens`, times SAFETY; calls with every JSON repair and LLM extraction made."""
    most_tokens = max(m.max_tokens for m in used_models(plan))
    found = estimate(plan, reply_tokens=most_tokens)
    matches = max(1, plan.planned)
    agents = [a for a in plan.config.agents.values() if a.kind == "llm"]
    extra = max((1 + a.repairs if a.protocol == "json" else 1)
                * (3 if a.extractor == "llm" else 1) for a in agents)
    calls = found["llm_calls"] / matches * extra
    return {"calls": float(int(calls + 0.999999)),
            "prompt": found["prompt_tokens"] / matches * extra * SAFETY,
            "completion": calls * most_tokens}


def start(plan: Plan, store: Store) -> Budget | None:
    """The budget with what the store already holds counted as spent."""
    budget = budget_of(plan)
    if budget is not None:
        budget.add(*_spent(*store.conn.execute(
            "SELECT SUM(calls), SUM(prompt_tokens), SUM(completion_tokens) FROM matches"
        ).fetchone()))
    return budget
