"""The LLM context of a run: built once, before the first match, shared by every LLM seat.

It holds one client per model table (with its retry loop, limits and counters), the reply
cache and the image encoder, and checks up front what would otherwise fail in every match: a
missing key, an unreachable endpoint, images for a model without vision, prompts the scenario
lacks. The factory asks it for a fresh negotiator per seat per match.
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from agents.models.cache import ReplyCache, resolve_cache_dir
from agents.personas.images import EncodedImage, ImageEncoder
from agents.negotiators.llm import LLMNegotiator
from agents.models.access import ModelAccess
from agents.models.stats import CallStats
from agents.models.client import build_client
from agents.models.preflight import check_base_url, check_reachable, probe_models, read_api_key
from agents.personas.persona import Persona
from agents.conditions import AVATAR_CONDITIONS, NEEDS_DESCRIPTION, SENDS_IMAGES, check_descriptions
from agents.personas.text_image import TextImages
from agents.models.config import ModelConfig, endpoint_identity
from arena.config import AgentConfig, CacheConfig, RunConfig, design_seats
from scenarios.errors import InputError
from scenarios.loader import Scenario
from scenarios.moves import SIDES


def open_cache(cache: CacheConfig, base: Path) -> ReplyCache | None:
    return ReplyCache(resolve_cache_dir(cache.dir, base)) if cache.enabled else None


def open_models(models: dict[str, ModelConfig], names: Iterable[str], cache: ReplyCache | None,
                check: bool = True) -> dict[str, ModelAccess]:
    """A ModelAccess per named table; with `check`, the key and endpoint are verified first."""
    accesses: dict[str, ModelAccess] = {}
    reached: set[str] = set()
    for name in dict.fromkeys(names):
        if name not in models:
            known = ", ".join(sorted(models)) or "none defined"
            raise InputError(f"no [models.{name}] table (models: {known})")
        config = models[name]
        check_base_url(name, config)
        key = read_api_key(name, config) if check else _key_if_set(name, config)
        if check and config.preflight != "off" and config.base_url not in reached:
            if config.preflight == "models":
                probe_models(name, config, key)
            else:
                check_reachable(name, config)
            reached.add(config.base_url)
        view = cache.for_endpoint(endpoint_identity(config.base_url)) if cache else None
        accesses[name] = ModelAccess(name, config, build_client(config, key), view, key)
    return accesses


def _key_if_set(name: str, config: ModelConfig) -> str | None:
    """A dry run need not have the key; one that is set must still be well formed."""
    import os

    if not config.api_key_env or not os.environ.get(config.api_key_env, "").strip():
        return None
    return read_api_key(name, config)


def merged_stats(accesses: dict[str, ModelAccess], cache: ReplyCache | None) -> dict[str, Any]:
    """Calls, cache hits and retries (by kind) over all models, and per model."""
    retries: Counter[str] = Counter()
    failures_by_kind: Counter[str] = Counter()
    totals = Counter()
    per_model = {}
    cost = 0.0
    priced = False
    for name, access in accesses.items():
        stats = access.stats.as_dict()
        config = access.config
        stats["endpoint"] = endpoint_identity(config.base_url)  # where its replies came from
        if config.price_prompt_per_1m is not None or config.price_completion_per_1m is not None:
            stats["cost_usd"] = round((stats["prompt_tokens"] * (config.price_prompt_per_1m or 0)
                                       + stats["completion_tokens"]
                                       * (config.price_completion_per_1m or 0)) / 1e6, 6)
            cost += stats["cost_usd"]
            priced = True
        per_model[name] = stats
        retries.update(access.stats.retries)
        failures_by_kind.update(access.stats.failures_by_kind)
        for field in CallStats.COUNTERS:
            totals[field] += stats[field]
    return {**{k: totals[k] for k in CallStats.COUNTERS},
            "retries": dict(retries), "failures_by_kind": dict(failures_by_kind),
            "models": per_model,
            "check_requests": CHECK_REQUESTS[0],  # vision probes and manipulation checks
            "cost_usd": round(cost, 6) if priced else None,  # of this run's requests only
            "cache": str(cache.path) if cache is not None else None,
            # replies the cache file could not take (e.g. a full disk): kept for the run
            "cache_errors": cache.errors if cache is not None else 0,
            "cache_unsaved": cache.unsaved if cache is not None else 0}


class LLMContext:
    """Clients, cache and encoded images for one run; makes LLM negotiators."""

    def __init__(self, config: RunConfig, scenario: Scenario, accesses: dict[str, ModelAccess],
                 cache: ReplyCache | None, encoder: ImageEncoder) -> None:
        self.probes: list[Any] = []  # ProbeResults of this run's vision probes
        self.probe_skipped = False
        self.config = config
        self.scenario = scenario
        self.accesses = accesses
        self.cache = cache
        self.encoder = encoder
        self.text_images = TextImages()

    def image(self, persona: Persona | None, model: ModelConfig) -> EncodedImage | None:
        if persona is None or persona.image is None:
            return None
        return self.encoder.encode(persona.image, model.max_image_side, model.detail)

    def shown_image(self, persona: Persona | None, model: ModelConfig) -> EncodedImage | None:
        """What goes where the avatar would: the avatar, or (text-as-image) its description
        drawn as an image."""
        if self.config.condition == "text-as-image":
            if persona is None or not persona.description:
                return None
            return self.text_images.encode(persona.description, model.max_image_side,
                                           model.detail)
        return self.image(persona, model)

    def negotiator(self, team: str, agent_config: AgentConfig, side: str,
                   persona: Persona | None, opponent: Persona | None,
                   match_seed: int, others: tuple[Persona | None, ...] = ()) -> LLMNegotiator:
        assert agent_config.model is not None
        access = self.accesses[agent_config.model]
        condition = self.config.condition
        if not self.config.shows_opponent:
            opponent = None  # the style hides it (self-only)
        own = opp = None
        # the further opponents of a game of more than two seats, numbered as the game's
        # prompts number players (seat order, this seat left out)
        seats = len(others) + 2
        me = SIDES.index(side)
        players = [j + 1 for j in range(seats) if j != me][1:]
        more = [(other, None, player) for other, player in zip(others, players)]
        if condition in SENDS_IMAGES:
            own = self.shown_image(persona, access.config)
            if opponent is not None:
                opp = self.shown_image(opponent, access.config)
                more = [(o, self.shown_image(o, access.config), n) for o, _, n in more]
        extractor = None
        if agent_config.protocol == "free-text" and agent_config.extractor in ("llm", "hybrid"):
            extractor = self.accesses[agent_config.extractor_model or agent_config.model]
        return LLMNegotiator(access, self.scenario, condition, side, persona, opponent, own, opp,
                             match_seed, agent_config.protocol, agent_config.repairs, extractor,
                             name=f"llm:{agent_config.model}",
                             hybrid=agent_config.extractor == "hybrid",
                             style=self.config.prompt_style, more=more, seats=seats)

    def stats(self) -> dict[str, Any]:
        return merged_stats(self.accesses, self.cache)

    async def aclose(self) -> None:
        """Close the clients; first, after an interruption, wait for the requests already sent
        (each answer is paid for, so it goes into the cache)."""
        sent = sum(access.orphans for access in self.accesses.values())
        if sent:
            limit = max(access.config.timeout for access in self.accesses.values())
            sys.stderr.write(f"persona-arena: waiting up to {limit:g} s for {sent} "
                             f"request{'s' if sent != 1 else ''} already sent, to keep the "
                             "replies (Ctrl-C again to abandon them)\n")
            sys.stderr.flush()  # one write: lines of several worker processes do not mix
            for access in self.accesses.values():
                await access.drain(limit)
        for access in self.accesses.values():
            await access.aclose()

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()


def llm_agents(config: RunConfig) -> dict[str, AgentConfig]:
    return {team: agent for team, agent in config.agents.items() if agent.kind == "llm"}


def check_prompts(config: RunConfig, scenario: Scenario,
                  personas_by_id: dict[str, Persona]) -> None:
    """Fill every template an LLM seat will be shown (first message, JSON hints, round marker,
    extractor), so a bad placeholder stops the run with one line before it starts rather than
    failing every match."""
    import random

    from agents.prompts import fill, first_message, json_hints, lookup, seat_of
    from scenarios.moves import MoveRequest

    persona = next(iter(personas_by_id.values()), None)
    opponent = persona if config.shows_opponent else None  # a script has none
    image = object()  # stands in for an encoded image: only the texts are checked here
    seats = design_seats(config, scenario)
    state = scenario.new_state(seats)
    first = state.request()
    state.apply(state.random_move(random.Random(0), first))
    requests = {"a": first}
    if not state.is_terminal and state.request().side == "b":
        requests["b"] = state.request()
    more = [(persona, image, player) for player in range(3, seats + 1)]  # further opponents
    for agent in llm_agents(config).values():
        for side in SIDES[:seats]:
            request = requests.get(side, first)
            request = MoveRequest(request.scenario, side, request.role, 1, 0, request.legal, (),
                                  request.offer_on_table, request.private, request.rounds_total)
            style = config.prompt_style
            appendix = (json_hints(scenario.prompts, scenario.rules, side, config.condition,
                                   request, style) if agent.protocol == "json" else "")
            first_message(scenario.prompts, side, config.condition, request, persona, opponent,
                          image, image, appendix, rules=scenario.rules,  # type: ignore[arg-type]
                          style=style, more=more)  # type: ignore[arg-type]
            marker = lookup(scenario.prompts, "round_marker", seat_of(side), config.condition,
                            style)
            if marker:
                fill(marker, "round_marker", {"round": 1})
            extract = lookup(scenario.prompts, "extract_user", seat_of(side), config.condition,
                             style)
            if agent.extractor in ("llm", "hybrid") and extract:
                fill(extract, "extract_user", {"text": ""})


def image_models(config: RunConfig) -> list[str]:
    """The [models.X] tables that will be sent images in this run (not extractors)."""
    if config.condition not in SENDS_IMAGES:
        return []
    return list(dict.fromkeys(a.model for a in llm_agents(config).values() if a.model))


async def _with_fresh_clients(accesses: dict[str, ModelAccess], names: list[str],
                              work: Any) -> Any:
    """Run `work(accesses)` on fresh clients of the named models in this event loop (the run's
    own clients belong to the loop that plays the matches), sharing the counters and cache."""
    from agents.models.client import build_client

    fresh = {}
    for name in names:
        access = accesses[name]
        twin = ModelAccess(name, access.config, build_client(access.config, access._secret),
                           access.cache, access._secret)
        fresh[name] = twin
    try:
        return await work(fresh)
    finally:
        for twin in fresh.values():
            CHECK_REQUESTS[0] += twin.stats.requests
            await twin.aclose()


CHECK_REQUESTS = [0]  # requests of the probes and manipulation checks (counted apart)


def probe_vision(context: LLMContext) -> None:
    """The vision probe of every model that will be sent images; refuse the run (one line)
    when one cannot see them."""
    import asyncio

    from agents.models.probe import run_probes

    names = image_models(context.config)
    if not names:
        return
    results = asyncio.run(_with_fresh_clients(
        context.accesses, names, lambda fresh: run_probes(list(fresh.values()))))
    context.probes = results
    context.probe_skipped = False
    for result in results:
        if result.error is not None:
            raise InputError(f"models.{result.model} could not be probed (its vision is "
                             f"checked before the first match): {result.error}")
        if not result.passed:
            model = context.accesses[result.model].config
            raise InputError(
                f"models.{result.model} ({model.model} at {model.base_url}) failed the vision "
                f"probe ({result.reason()}): it does not see the images this run would send; use "
                "a vision model or a server that reads image parts, condition \"text\", or "
                "--skip-probe")


def manipulation_checks(context: LLMContext, personas: list[Persona]) -> list[Any]:
    """Each image model rates each persona's own image once (stored by the run)."""
    import asyncio

    from agents.models.probe import manipulation_check

    # the avatars only: a drawn description has no look to rate
    names = image_models(context.config) if context.config.condition in AVATAR_CONDITIONS else []

    async def work(fresh: dict[str, ModelAccess]) -> list[Any]:
        jobs = []
        for name in names:
            for persona in personas:
                image = context.image(persona, fresh[name].config)
                if image is not None:
                    jobs.append(manipulation_check(fresh[name], persona.persona_id, image))
        return list(await asyncio.gather(*jobs))

    return asyncio.run(_with_fresh_clients(context.accesses, names, work)) if names else []


def build_llm_context(config: RunConfig, base: Path, scenario: Scenario,
                      personas_by_id: dict[str, Persona], check: bool = True,
                      probe: bool = True) -> LLMContext:
    """Check the LLM side of a config and build its context (see the module docstring)."""
    agents = llm_agents(config)
    players: list[str] = []
    extractors: list[str] = []
    for team, agent in agents.items():
        assert agent.model is not None
        players.append(agent.model)
        if agent.protocol == "free-text" and agent.extractor in ("llm", "hybrid"):
            extractors.append(agent.extractor_model or agent.model)
            # every game has an LLM extractor: the paper's two prompts where its scenario has
            # them, else the game's JSON move (agents/negotiators/llm_extract); a scenario
            # with only one of the paper's prompts is a mistake worth a line
            prompts = [k for k in ("extract_claim", "extract_acceptance")
                       if k in scenario.prompts]
            if len(prompts) == 1 and scenario.rules.family == "ultimatum":
                missing = ({"extract_claim", "extract_acceptance"} - set(prompts)).pop()
                raise InputError(f"agents.{team}.extractor: scenario {scenario.name} has "
                                 f"{prompts[0]} but not {missing}; give both of the paper's "
                                 "extraction prompts or neither (the game's JSON move)")
    if agents and config.condition == "both-images" and config.design.kind == "confederate":
        raise InputError("condition: 'both-images' shows the opponent's image, but the "
                         "confederate design's opponent has none (use 'self-only', as the "
                         "paper's Study 1 did)")
    if agents and config.shows_opponent and config.design.kind == "confederate":
        raise InputError(f"style: 'both-images' shows the opponent's persona, but the "
                         "confederate design's opponent has none (use style = \"self-only\")")
    if config.condition in SENDS_IMAGES:
        for name in dict.fromkeys(players):
            if not config.models[name].vision:
                raise InputError(f"models.{name}.vision: condition '{config.condition}' sends "
                                 f"images, but [models.{name}] has vision = false (use "
                                 "condition \"text\" or \"none\", or a vision model)")
        missing_images = sorted(p.persona_id for p in personas_by_id.values() if p.image is None)
        if missing_images and config.condition in AVATAR_CONDITIONS:
            raise InputError(f"personas: persona {missing_images[0]} has no image, which "
                             f"condition '{config.condition}' needs")
    if config.condition in SENDS_IMAGES:
        for name in dict.fromkeys(players):
            if config.models[name].content == "string":
                raise InputError(f"models.{name}.content: 'string' cannot carry images, which "
                                 f"condition '{config.condition}' sends (use \"auto\" or "
                                 "\"parts\")")
    if config.condition in NEEDS_DESCRIPTION:
        check_descriptions(config.condition, personas_by_id.values())
    if agents:
        check_prompts(config, scenario, personas_by_id)
    cache = open_cache(config.cache, base)
    try:
        accesses = open_models(config.models, [*players, *extractors], cache, check)
    except BaseException:
        if cache is not None:
            cache.close()
        raise
    context = LLMContext(config, scenario, accesses, cache, ImageEncoder())
    if check and probe:
        try:
            probe_vision(context)
        except BaseException:
            context.close()
            raise
    elif check:
        context.probe_skipped = bool(image_models(config))
    return context
