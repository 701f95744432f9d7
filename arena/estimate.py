"""What a run will cost before anything is spent: LLM calls, prompt tokens (images included), money.

Text is counted at about four characters a token (no tokenizer download); images by OpenAI's
published rule for its vision models (85 tokens at low detail; at high detail the image is fitted
into 2048 px, its short side scaled to 768 px, and each 512-px tile costs 170 more). Replies are
assumed to be `reply_tokens` long. These are estimates for planning, not bills.
"""
from __future__ import annotations

from typing import Any

from agents.models.tokens import MESSAGE_OVERHEAD, image_tokens, text_tokens
from scenarios.moves import SIDES, MoveRequest

def _image_size(path: Any, max_side: int | None) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as img:  # reads the header only
        w, h = img.size
    if max_side and max(w, h) > max_side:
        scale = max_side / max(w, h)
        w, h = max(1, round(w * scale)), max(1, round(h * scale))
    return w, h


def calls_per_side(scenario: Any) -> tuple[int, bool]:
    """Calls one seat makes in a match, and whether that is exact (True) or an upper bound."""
    return scenario.rules.calls_per_seat(scenario.seats), False


def estimate(plan: Any, reply_tokens: int = 80) -> dict[str, Any]:
    """Expected LLM calls, prompt and completion tokens, and cost for the not-yet-run plan."""
    from agents.conditions import SENDS_IMAGES
    from agents.personas.text_image import TEXT_IMAGE_SIDE
    from agents.prompts import first_message

    config, scenario = plan.config, plan.scenario
    per_side, exact = calls_per_side(scenario)
    prompts = scenario.prompts
    totals = {"llm_calls": 0, "prompt_tokens": 0, "completion_tokens": 0}
    cost = 0.0
    priced = True
    per_model: dict[str, dict[str, float]] = {}
    from arena.config import design_seats

    state = scenario.new_state(design_seats(config, scenario))
    request0 = state.request()
    specs = plan.specs
    if not specs and plan.entrants and len(plan.entrants) > 1:  # swiss: rounds not planned yet
        from arena.match import MatchSpec

        team = "a" if config.teams_differ else "default"
        x, y = plan.entrants[0], plan.entrants[1]
        specs = [MatchSpec("estimate", "swiss", 1, x.persona_id, y.persona_id, team,
                           team)] * plan.planned
    for spec in specs:
        seat_personas, seat_agents = spec.seat_personas, spec.seat_agents
        n = len(seat_agents)
        if n != 2:  # a game of more seats: each seat moves less often
            per_side = scenario.rules.calls_per_seat(n)
        for i, (side, team) in enumerate(zip(SIDES, seat_agents)):
            persona_id = seat_personas[i]
            others = [p for j, p in enumerate(seat_personas) if j != i]  # the factory's order
            opponent_id = others[0]
            agent = plan.factory.agent_config(team)
            if agent.kind != "llm":
                continue
            model = config.models[agent.model]
            key = (team, side, persona_id is None, opponent_id is None, n)
            base = per_model.get(str(key))
            if base is None:
                persona = plan.personas.get(persona_id) if persona_id else None
                opponent = plan.personas.get(opponent_id) if opponent_id else None
                further = [plan.personas.get(o) if o else None for o in others[1:]]
                request = MoveRequest(request0.scenario, side, request0.role, 1, 0, request0.legal,
                                      (), None, request0.private, request0.rounds_total)
                condition = config.condition
                if not config.shows_opponent:
                    opponent, further = None, []
                placeholder = object()  # stands in for an encoded image: counted apart, below
                players = [j + 1 for j in range(n) if j != i][1:]
                parts = first_message(prompts, side, condition, request, persona, opponent,
                                      placeholder, placeholder,  # type: ignore[arg-type]
                                      rules=scenario.rules, style=config.prompt_style,
                                      more=[(o, placeholder, k)  # type: ignore[misc]
                                            for o, k in zip(further, players)])
                tokens = text_tokens(prompts.get("system", ""))
                tokens += sum(text_tokens(p) for p in parts if isinstance(p, str))
                images = 0
                # own image, and every other seat's where the condition's style shows them
                for who in ([persona, opponent, *further] if condition in SENDS_IMAGES else []):
                    if who is None:
                        continue
                    if condition == "text-as-image":  # the description drawn, at most 512 px
                        side_px = min(TEXT_IMAGE_SIDE, model.max_image_side or TEXT_IMAGE_SIDE)
                        images += image_tokens(side_px, side_px, model.detail)
                    elif who.image is not None:
                        w, h = _image_size(who.image, model.max_image_side)
                        images += image_tokens(w, h, model.detail)
                base = {"first": tokens + images, "images": images}
                per_model[str(key)] = base
            # call k sees the first message plus k exchanges (its replies and the other side's)
            history = sum(k * (2 * reply_tokens + 2 * MESSAGE_OVERHEAD + 4) for k in range(per_side))
            prompt = per_side * base["first"] + history
            totals["llm_calls"] += per_side
            totals["prompt_tokens"] += prompt
            totals["completion_tokens"] += per_side * reply_tokens
            if model.price_prompt_per_1m is None or model.price_completion_per_1m is None:
                priced = False
            else:
                cost += (prompt * model.price_prompt_per_1m
                         + per_side * reply_tokens * model.price_completion_per_1m) / 1e6
    result: dict[str, Any] = {**totals, "calls_exact": exact, "reply_tokens_assumed": reply_tokens}
    result["cost"] = round(cost, 4) if priced and totals["llm_calls"] else None
    return result
