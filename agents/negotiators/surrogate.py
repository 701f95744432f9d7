"""A surrogate negotiator: a fitted statistical model of an LLM's ultimatum-game behaviour.

It is NOT an LLM. It draws a claim from `intercept + own*L_own + opp*L_opp + persona effect +
noise` (rounded to the model's usual granularity) and accepts with a logistic probability in the
offer and both levels, with parameters fitted to the paper's released Study 2 data. Use it to try
designs, test the pipeline and plan sample sizes, never as evidence about LLMs.
"""
from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from scenarios.moves import (ACCEPT, PROPOSE, REJECT, Move, MoveRequest, Reply, made_move,
                             made_reply)

PARAMS_FILE = Path(__file__).resolve().parents[1] / "data" / "surrogate.json"
GAMES = frozenset({"ultimatum"})  # the rules the parameters were fitted on
FIT_PIE = 100.0  # the fits' claims are dollars of the paper's $100
MID_LEVEL = 4.0  # a level the player is not shown counts as mid-scale: no effect of its own
_ACCEPT, _REJECT = Move(ACCEPT), Move(REJECT)  # immutable: one for every answer


@dataclass(frozen=True, slots=True)
class SurrogateParams:
    intercept: float
    own: float
    opp: float
    sd_persona: float
    sd_resid: float
    step: float
    accept_intercept: float
    accept_offer: float
    accept_own: float
    accept_opp: float


@lru_cache(maxsize=8)
def load_params(fit: str, path: Path = PARAMS_FILE) -> SurrogateParams:
    from scenarios.errors import InputError

    table = json.loads(path.read_text())
    if fit not in table:
        raise InputError(f"unknown surrogate fit '{fit}' (known: {', '.join(sorted(table))})")
    claim, accept = table[fit]["claim"], table[fit]["accept"]
    return SurrogateParams(claim["intercept"], claim["own"], claim["opp"], claim["sd_persona"],
                           claim["sd_resid"], claim.get("step", 1), accept["intercept"],
                           accept["offer"], accept["own"], accept["opp"])


def known_fits(path: Path = PARAMS_FILE) -> list[str]:
    return sorted(json.loads(path.read_text()))


class SurrogateNegotiator:
    """Plays `ultimatum` scenarios from fitted parameters; `rng` comes from the runner."""

    def __init__(self, params: SurrogateParams, rng: random.Random, own_level: float | None,
                 opp_level: float | None, persona_effect: float = 0.0, pie: float = 100.0,
                 name: str = "surrogate") -> None:
        """`own_level` / `opp_level` None: that image is not shown (condition `none`, or no
        opponent image), so its level has no effect. Claims and offers scale with `pie`: the
        fit's dollars of 100 become the same shares of this pie."""
        self.params = params
        self.rng = rng
        self.own = own_level if own_level is not None else MID_LEVEL
        self.opp = opp_level if opp_level is not None else MID_LEVEL
        self.persona_effect = persona_effect
        self.pie = pie
        self.scale = pie / FIT_PIE
        self.name = name
        self._mean_claim = params.intercept + params.own * self.own + params.opp * self.opp

    def claim(self) -> float:
        p = self.params
        raw = self._mean_claim + self.persona_effect + self.rng.gauss(0.0, p.sd_resid)
        step = (p.step or 1.0) * self.scale
        snapped = round(raw * self.scale / step) * step
        return float(min(max(snapped, 0.0), self.pie))

    def accept_probability(self, offer_to_me: float) -> float:
        p = self.params
        z = p.accept_intercept + p.accept_offer * offer_to_me / self.scale \
            + p.accept_own * self.own + p.accept_opp * self.opp
        return 1.0 / (1.0 + math.exp(-z))

    async def act(self, request: MoveRequest) -> Reply:
        if request.role == "proposer":
            claim = self.claim()
            return made_reply(made_move(PROPOSE, claim),
                              f"I propose ${claim:g} for me and ${self.pie - claim:g} for you.")
        offer = request.offer_on_table
        to_me = self.pie - float(offer) if offer is not None else 0.0  # type: ignore[arg-type]
        if self.rng.random() < self.accept_probability(to_me):
            return made_reply(_ACCEPT, "I accept your proposal.")
        return made_reply(_REJECT, "I reject your proposal.")
