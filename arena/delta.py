"""The `delta` design: pairs whose level difference (own minus opponent) follows a target.

Pairs are built in rounds. Each round is a matching on a graph of personas whose edge weights say
how much a pair still serves the target distribution (how far its level difference is below its
target count), so every persona gains one opponent per round and meets each opponent once. The
orientation of each pair (who sits in seat a) picks the sign of the difference that is more
wanted, and otherwise the persona that has sat in seat a less often.
"""
from __future__ import annotations

import random
from collections.abc import Sequence

import networkx as nx

from arena.config import DesignConfig
from arena.seeds import derive_seed
from scenarios.errors import InputError

EXACT_MATCHING_LIMIT = 40  # above this many personas a greedy matching stands in for blossom
CANDIDATES = 60  # above DENSE_LIMIT personas, each considers this many random opponents a round
DENSE_LIMIT = 400


def target_weights(design: DesignConfig) -> dict[int, float]:
    span = design.levels - 1
    diffs = list(range(-span, span + 1))
    if design.target is None:
        return {d: 1.0 / len(diffs) for d in diffs}
    if len(design.target) != len(diffs):
        raise InputError(f"design.target: give {len(diffs)} weights, one per level difference "
                         f"{-span}..{span} (got {len(design.target)})")
    if any(w < 0 for w in design.target) or sum(design.target) <= 0:
        raise InputError("design.target: weights must be non-negative and not all zero")
    total = sum(design.target)
    return {d: w / total for d, w in zip(diffs, design.target)}


def delta_pairs(entrants: Sequence, design: DesignConfig, seed: int) -> list[tuple]:
    """Ordered (seat a, seat b) pairs of entrants for one repetition."""
    people = sorted(entrants, key=lambda e: e.persona_id)
    n = len(people)
    if n < 2:
        raise InputError("design: the delta design needs at least two personas")
    total = design.matches or (n * design.opponents) // 2
    weights = target_weights(design)
    target = {d: w * total for d, w in weights.items()}
    counts = {d: 0 for d in weights}
    seat_a = [0] * n
    used: set[tuple[int, int]] = set()
    rng = random.Random(derive_seed(seed, "delta"))
    pairs: list[tuple[int, int]] = []
    rounds = 0
    while len(pairs) < total and rounds < 4 * n:
        rounds += 1
        graph = nx.Graph()
        graph.add_nodes_from(range(n))
        # scarce differences (few unused pairs can serve them) weigh more, so they are not
        # crowded out by common ones
        candidates = _candidate_pairs(n, used, rng)
        available: dict[int, int] = {}
        for i, j in candidates:
            d = abs(people[i].level - people[j].level)
            available[d] = available.get(d, 0) + 1
        for i, j in candidates:
            d = people[i].level - people[j].level
            need = max(target.get(d, 0) - counts.get(d, 0), target.get(-d, 0) - counts.get(-d, 0))
            if need > 0:
                scarcity = need / available[abs(d)] ** 0.5
                graph.add_edge(i, j, weight=scarcity + rng.random() * 1e-6)
        if graph.number_of_edges() == 0:
            break
        if n <= EXACT_MATCHING_LIMIT:
            matching = nx.max_weight_matching(graph, maxcardinality=False)
        else:
            matching = _greedy_matching(graph)
        if not matching:
            break
        for i, j in sorted((min(e), max(e)) for e in matching):
            if len(pairs) >= total:
                break
            d = people[i].level - people[j].level
            gain_ij = target.get(d, 0) - counts.get(d, 0)
            gain_ji = target.get(-d, 0) - counts.get(-d, 0)
            if gain_ij > gain_ji or (gain_ij == gain_ji and seat_a[i] <= seat_a[j]):
                a, b = i, j
            else:
                a, b = j, i
            diff = people[a].level - people[b].level
            counts[diff] = counts.get(diff, 0) + 1
            seat_a[a] += 1
            used.add((i, j))
            pairs.append((a, b))
    return [(people[a], people[b]) for a, b in pairs]


def _candidate_pairs(n: int, used: set[tuple[int, int]], rng: random.Random) -> list[tuple[int, int]]:
    """All unused pairs of a small pool; a random sample of them in a large one."""
    if n <= DENSE_LIMIT:
        return [(i, j) for i in range(n) for j in range(i + 1, n) if (i, j) not in used]
    pairs = set()
    for i in range(n):
        for j in rng.sample(range(n), CANDIDATES):
            pair = (min(i, j), max(i, j))
            if i != j and pair not in used:
                pairs.add(pair)
    return sorted(pairs)


def _greedy_matching(graph: nx.Graph) -> set[tuple[int, int]]:
    taken: set[int] = set()
    matching = set()
    for i, j, _ in sorted(graph.edges(data="weight"), key=lambda e: -e[2]):
        if i not in taken and j not in taken:
            taken.update((i, j))
            matching.add((i, j))
    return matching
