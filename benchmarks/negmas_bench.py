"""Engine against NegMAS: the same one-issue price bargaining, Boulware against Conceder.

Price 0..100; the buyer's utility falls and the seller's rises linearly (1 - p/100 and p/100),
reservation utility 0.2 each (prices 80 and 20), 20 steps, the seller opens. persona-arena plays
the `price-bargain` game built from a scenario spec with those numbers, two
`ConcessionNegotiator`s; NegMAS plays `SAOMechanism` with `BoulwareTBNegotiator` and
`ConcederTBNegotiator` on `LinearAdditiveUtilityFunction`s. Every other negotiation swaps which
side is Boulware. The two engines take turns in blocks (A B A B ...), so a busy moment of the
machine hits both alike. Offers are proposals and counter-offers (acceptances not counted).

NegMAS counts a step as every negotiator moving once, so `n_steps=20` allows up to 40 offers;
`one_offer_per_step=True` makes a step one offer, which is the negotiation persona-arena plays
(both then agree at the same prices after 16 offers). The headline ratio is against NegMAS's
default, its faster mode per offer.
"""
from __future__ import annotations

import asyncio
import time
import warnings
from pathlib import Path
from typing import Any

from benchmarks.support import Log, load_average, scratch
from arena.store import STORE_NAME

NAME = "negmas"
TITLE = "Engine against NegMAS (price bargaining, Boulware vs Conceder)"
TARGET_RATIO = 10.0
FULL = {"negotiations": 1000, "blocks": 10}
QUICK = {"negotiations": 40, "blocks": 2}
SPEC = {"name": "bench-bargain", "game": "price-bargain", "price_min": 0, "price_max": 100,
        "buyer_reservation": 80, "seller_reservation": 20, "max_turns": 20,
        "first_mover": "seller"}
STEPS = 20


def _tactics(i: int) -> tuple[str, str]:
    """(seller, buyer) tactic of the i-th negotiation: Boulware and Conceder, swapped each time."""
    return ("boulware", "conceder") if i % 2 == 0 else ("conceder", "boulware")


# -- persona-arena -------------------------------------------------------------------------------
def arena_block(start: int, n: int, store: Any = None) -> dict[str, Any]:
    from agents.negotiators.concession import ConcessionNegotiator
    from arena.match import MatchSpec, play_match
    from scenarios.loader import parse_scenario

    scenario = parse_scenario(SPEC, "benchmark")
    stats = {"offers": 0, "deals": 0, "prices": 0.0}

    async def block() -> None:
        for i in range(start, start + n):
            seller, buyer = _tactics(i)
            spec = MatchSpec(f"m{i}", "bench", 1, None, None, "a", "b")
            row = await play_match(spec, scenario, [ConcessionNegotiator(scenario, seller),
                                   ConcessionNegotiator(scenario, buyer)], "none",
                                   (f"concession:{seller}", f"concession:{buyer}"))
            if store is not None:
                store.write_match(row)
            stats["offers"] += sum(1 for t in row.turns if t.move_kind in ("propose", "counter"))
            if row.match.deal:
                stats["deals"] += 1
                stats["prices"] += float(next(t.offer for t in reversed(row.turns)
                                              if t.move_kind in ("propose", "counter")))

    asyncio.run(block())
    return stats


# -- NegMAS --------------------------------------------------------------------------------------
def negmas_block(start: int, n: int, one_offer_per_step: bool) -> dict[str, Any]:
    from negmas import SAOMechanism, make_issue
    from negmas.preferences import LinearAdditiveUtilityFunction
    from negmas.preferences.value_fun import AffineFun, LinearFun
    from negmas.sao import BoulwareTBNegotiator, ConcederTBNegotiator

    kinds = {"boulware": BoulwareTBNegotiator, "conceder": ConcederTBNegotiator}
    issues = [make_issue((0, 100), "price")]
    stats = {"offers": 0, "deals": 0, "prices": 0.0}
    for i in range(start, start + n):
        seller, buyer = _tactics(i)
        mechanism = SAOMechanism(issues=issues, n_steps=STEPS,
                                 one_offer_per_step=one_offer_per_step)
        space = mechanism.outcome_space
        seller_u = LinearAdditiveUtilityFunction(values={"price": LinearFun(0.01)},
                                                 outcome_space=space, reserved_value=0.2)
        buyer_u = LinearAdditiveUtilityFunction(values={"price": AffineFun(-0.01, 1.0)},
                                                outcome_space=space, reserved_value=0.2)
        mechanism.add(kinds[seller](name="seller"), preferences=seller_u)
        mechanism.add(kinds[buyer](name="buyer"), preferences=buyer_u)
        state = mechanism.run()
        stats["offers"] += len(mechanism.extended_trace)
        if state.agreement is not None:
            stats["deals"] += 1
            stats["prices"] += float(state.agreement[0])
    return stats


def _timed(fn: Any, *args: Any) -> tuple[dict[str, Any], float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    stats = fn(*args)
    return stats, time.perf_counter() - wall, time.process_time() - cpu


def run(quick: bool, log: Log, ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    import negmas

    size = QUICK if quick else FULL
    n, blocks = size["negotiations"], size["blocks"]
    per = n // blocks
    engines = ("arena", "arena_stored", "negmas", "negmas_one_offer")
    totals = {e: {"offers": 0, "deals": 0, "prices": 0.0, "wall": 0.0, "cpu": 0.0}
              for e in engines}
    load = load_average()
    warnings.filterwarnings("ignore", module="negmas")
    with scratch("negmas") as folder:
        from arena.store import Store

        store = Store(Path(folder) / STORE_NAME)
        try:
            arena_block(-2, 2, None)  # warm up: imports and first-call costs stay out of timing
            negmas_block(-2, 2, False)
            for b in range(blocks):  # A B A B: each engine's blocks interleave with the other's
                start = b * per
                jobs = {"arena": (arena_block, start, per),
                        "negmas": (negmas_block, start, per, False),
                        "arena_stored": (arena_block, start, per, store),
                        "negmas_one_offer": (negmas_block, start, per, True)}
                for engine, (fn, *args) in jobs.items():
                    stats, wall, cpu = _timed(fn, *args)
                    t = totals[engine]
                    for key in ("offers", "deals", "prices"):
                        t[key] += stats[key]
                    t["wall"] += wall
                    t["cpu"] += cpu
        finally:
            store.close()
    out: dict[str, Any] = {"negotiations": per * blocks, "blocks": blocks,
                           "negmas_version": negmas.__version__, "load_average": load}
    for engine, t in totals.items():
        out[engine] = {
            "offers_per_s": round(t["offers"] / t["wall"]),
            "negotiations_per_s": round(per * blocks / t["wall"], 1),
            "cpu_offers_per_s": round(t["offers"] / t["cpu"]) if t["cpu"] else None,
            "offers_per_negotiation": round(t["offers"] / (per * blocks), 2),
            "agreement_rate": round(t["deals"] / (per * blocks), 3),
            "mean_price": round(t["prices"] / t["deals"], 2) if t["deals"] else None,
            "seconds": round(t["wall"], 3),
        }
    out["ratio"] = round(out["arena"]["offers_per_s"] / out["negmas"]["offers_per_s"], 1)
    out["ratio_one_offer_per_step"] = round(
        out["arena"]["offers_per_s"] / out["negmas_one_offer"]["offers_per_s"], 1)
    out["ratio_stored"] = round(out["arena_stored"]["offers_per_s"]
                                / out["negmas"]["offers_per_s"], 1)
    out["target_ratio"] = TARGET_RATIO
    log(f"  persona-arena {out['arena']['offers_per_s']:,} offers/s "
        f"(stored in SQLite: {out['arena_stored']['offers_per_s']:,}); NegMAS "
        f"{out['negmas']['offers_per_s']:,} offers/s (one offer per step: "
        f"{out['negmas_one_offer']['offers_per_s']:,}); ratio {out['ratio']}x "
        f"({out['ratio_one_offer_per_step']}x one offer per step); load {load}")
    return out


def markdown(r: dict[str, Any]) -> list[str]:
    rows = [("persona-arena (engine)", r["arena"]), ("persona-arena (engine + SQLite store, one "
             "transaction per match)", r["arena_stored"]),
            ("NegMAS SAOMechanism, n_steps=20 (default: both move each step)", r["negmas"]),
            ("NegMAS SAOMechanism, n_steps=20, one_offer_per_step=True", r["negmas_one_offer"])]
    lines = ["| engine | offers/s | negotiations/s | offers per negotiation | agreements | "
             "mean agreed price |", "|---|---|---|---|---|---|"]
    for label, e in rows:
        lines.append(f"| {label} | {e['offers_per_s']:,} | {e['negotiations_per_s']:,} | "
                     f"{e['offers_per_negotiation']} | {e['agreement_rate']:.0%} | "
                     f"{e['mean_price']} |")
    met = "met" if r["ratio"] >= TARGET_RATIO else "MISSED"
    lines += ["", f"**Ratio: {r['ratio']}x** NegMAS's offers per second (target >= "
              f"{TARGET_RATIO:.0f}x: {met}); {r['ratio_one_offer_per_step']}x against NegMAS "
              f"playing one offer per step (the same negotiation as ours); "
              f"{r['ratio_stored']}x with every match stored. {r['negotiations']:,} negotiations "
              f"per engine in {r['blocks']} alternating blocks; NegMAS {r['negmas_version']}; "
              f"load average {r['load_average']}."]
    return lines
