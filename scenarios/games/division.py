"""Deal or No Deal: divide a pool of items whose per-unit values each side knows only for itself."""
from __future__ import annotations

import itertools
import math
import random
import re

from scenarios.game import Game
from scenarios.moves import Move, MoveKind, MoveRequest, Reply, Turn
from scenarios.builtins import builtin
from scenarios.schema import ItemDivisionSpec
from scenarios.state import MatchState, Outcome, OutcomeSpace
from scenarios.text import looks_like_acceptance, looks_like_rejection

_OPEN = frozenset({MoveKind.PROPOSE})
_REPLY = frozenset({MoveKind.ACCEPT, MoveKind.REJECT, MoveKind.COUNTER})
MAX_SPLITS = 200_000  # splits listed for the outcome space (3 books, 2 hats, 1 ball: 24)


class ItemDivisionState(MatchState):
    """An offer is the tuple of counts the proposer keeps; the other side gets the rest.

    The sides alternate; a reply accepts the offer (deal), rejects it (no deal, both 0) or counters
    with an offer of its own. Reaching the turn limit without a deal pays both 0.
    """

    def __init__(self, spec: ItemDivisionSpec) -> None:
        super().__init__()
        self.spec = spec
        self.scenario_name = spec.name
        self.counts = tuple(item.count for item in spec.items)
        self.values = {"a": tuple(spec.values_a), "b": tuple(spec.values_b)}
        self.offer: tuple[int, ...] | None = None
        self.offer_by: str | None = None
        self.deal: tuple[int, ...] | None = None  # counts side a receives
        self.ended = False

    def value(self, side: str, bundle: tuple[int, ...]) -> float:
        return float(sum(v * n for v, n in zip(self.values[side], bundle)))

    def _rest(self, bundle: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(c - n for c, n in zip(self.counts, bundle))

    @property
    def is_terminal(self) -> bool:
        return self.ended or len(self.turns) >= self.spec.max_turns

    def request(self) -> MoveRequest:
        side = "a" if len(self.turns) % 2 == 0 else "b"
        legal = _OPEN if self.offer is None else _REPLY
        private = {"values": list(self.values[side]),
                   "items": [item.name for item in self.spec.items],
                   "counts": list(self.counts)}
        role = "first" if side == "a" else "second"
        return MoveRequest(self.spec.name, side, role, len(self.turns) + 1, len(self.turns),
                           legal, tuple(self.turns), self.offer, private, self.spec.max_turns)

    def check(self, move: Move, request: MoveRequest) -> str | None:
        why = request.validate(move)
        if why is None and move.kind in (MoveKind.PROPOSE, MoveKind.COUNTER):
            bundle = move.offer
            if not isinstance(bundle, tuple) or len(bundle) != len(self.counts):
                return f"an offer must give a count for each of the {len(self.counts)} item types"
            for n, c, item in zip(bundle, self.counts, self.spec.items):
                if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= c:
                    return f"count {n!r} of {item.name} is outside 0..{c}"
        return why

    def apply(self, move: Move, text: str = "") -> Turn:
        if self.is_terminal:
            raise RuntimeError("the match is over")
        side = "a" if len(self.turns) % 2 == 0 else "b"
        claim = None
        if move.kind in (MoveKind.PROPOSE, MoveKind.COUNTER):
            bundle = tuple(int(n) for n in move.offer)  # type: ignore[union-attr]
            self.offer, self.offer_by = bundle, side
            claim = self.value(side, bundle)
        elif move.kind is MoveKind.ACCEPT and self.offer is not None:
            kept = self.offer
            self.deal = kept if self.offer_by == "a" else self._rest(kept)
            self.ended = True
        elif move.kind is MoveKind.REJECT:
            self.ended = True
        role = "first" if side == "a" else "second"
        turn = Turn(len(self.turns), len(self.turns) + 1, side, role, move, text, claim)
        self.turns.append(turn)
        return turn

    def outcome(self) -> Outcome:
        if self.deal is None:
            a = b = 0.0
        else:
            a, b = self.value("a", self.deal), self.value("b", self._rest(self.deal))
        whole_a = self.value("a", self.counts)
        whole_b = self.value("b", self.counts)
        deal = self.deal is not None
        return Outcome.pair(a, b, deal, int(deal), a / whole_a, b / whole_b, len(self.turns))

    def outcome_space(self) -> OutcomeSpace | None:
        """Every split of the items (what a keeps, b gets the rest); None beyond
        MAX_SPLITS, where listing them would cost more than the analysis."""
        if math.prod(c + 1 for c in self.counts) > MAX_SPLITS:
            return None
        splits = itertools.product(*(range(c + 1) for c in self.counts))
        return OutcomeSpace(tuple((self.value("a", s), self.value("b", self._rest(s)))
                                  for s in splits), convex=False, offer="split",
                            claim_scale=(self.value("a", self.counts),
                                         self.value("b", self.counts)))

    def read(self, text: str, request: MoveRequest) -> Move:
        if MoveKind.ACCEPT in request.legal and looks_like_acceptance(text):
            return Move(MoveKind.ACCEPT)
        bundle = self._read_bundle(text)
        if bundle is not None:
            kind = MoveKind.PROPOSE if MoveKind.PROPOSE in request.legal else MoveKind.COUNTER
            return Move(kind, bundle)
        if MoveKind.REJECT in request.legal and looks_like_rejection(text):
            return Move(MoveKind.REJECT)
        return Move.invalid("no split of the items, acceptance or rejection found in the text")

    def _read_bundle(self, text: str) -> tuple[int, ...] | None:
        """Read "I take 2 books, 1 hat and 0 balls" style texts (counts the speaker keeps)."""
        lowered = text.lower()
        bundle = []
        for item in self.spec.items:
            stem = re.escape(item.name.lower().rstrip("s"))
            found = re.search(rf"(\d+)\s+{stem}", lowered)
            if found is None:
                return None
            bundle.append(int(found.group(1)))
        return tuple(bundle)

    def random_move(self, rng: random.Random, request: MoveRequest) -> Move:
        kind = rng.choice(sorted(request.legal, key=lambda k: k.value))
        if kind in (MoveKind.PROPOSE, MoveKind.COUNTER):
            return Move(kind, tuple(rng.randint(0, c) for c in self.counts))
        return Move(kind)

    def all_bundles(self) -> list[tuple[int, ...]]:
        return list(itertools.product(*(range(c + 1) for c in self.counts)))

    def describe_offer(self, offer: object, side: str) -> str:
        bundle = tuple(offer)  # type: ignore[arg-type]
        parts = [f"{n} {item.name}" for n, item in zip(bundle, self.spec.items)]
        return "I take " + ", ".join(parts) + "; you get the rest"


@builtin
class ItemDivisionGame(Game):
    name = "item-division"
    behaviour = "claim share"
    Spec = ItemDivisionSpec
    moves = ("propose", "counter", "accept", "reject")
    placeholders = frozenset({"inventory", "values"})
    hints = {"": "what you keep, e.g. \"2 1 0\" or \"I take 2 books, 1 hats and 0 balls\"; "
                 "or \"accept\" / \"reject\""}
    spec: ItemDivisionSpec

    def __init__(self, spec: ItemDivisionSpec) -> None:
        super().__init__(spec)
        self._bundles: dict[tuple[int, ...], list[tuple[float, tuple[int, ...]]]] = {}

    def start(self, seats: int, rng: random.Random) -> ItemDivisionState:
        return ItemDivisionState(self.spec)

    def payoff_range(self, seats: int) -> tuple[float, float]:
        whole = [sum(v * i.count for v, i in zip(values, self.spec.items))
                 for values in (self.spec.values_a, self.spec.values_b)]
        return 0.0, float(max(whole))

    def prompt_fields(self, request: MoveRequest) -> dict:
        fields = super().prompt_fields(request)
        private = request.private
        items, values, counts = private["items"], private["values"], private.get("counts", [])
        inventory = [f"{n} {item}" for n, item in zip(counts, items)]
        fields["inventory"] = (", ".join(inventory[:-1]) + " and " + inventory[-1]
                               if len(inventory) > 1 else "".join(inventory))
        fields["values"] = ", ".join(f"{item} {value}" for item, value in zip(items, values))
        return fields

    def private_lines(self, request: MoveRequest) -> list[str]:
        fields = self.prompt_fields(request)
        return [f"The items: {fields['inventory']}. What each item is worth to you: "
                f"{fields['values']}. Your opponent values them differently."]

    def concession(self, request: MoveRequest, share: float) -> Reply:
        """Keep the least valuable bundle still worth the target; accept a rest worth it."""
        values = request.private["values"]
        counts = request.private["counts"]
        key = tuple(values)
        bundles = self._bundles.get(key)
        if bundles is None:
            bundles = []
            for bundle in itertools.product(*(range(c + 1) for c in counts)):
                worth = float(sum(v * n for v, n in zip(values, bundle)))
                bundles.append((worth, tuple(bundle)))  # among equal worth, leave more items
            bundles.sort(key=lambda wb: (wb[0], -sum(wb[1])))
            self._bundles[key] = bundles
        target = bundles[-1][0] * share
        table = request.offer_on_table
        if table is not None:
            # the table holds what the other side keeps; I would get the rest
            mine = tuple(c - n for c, n in zip(counts, table))
            if float(sum(v * n for v, n in zip(values, mine))) >= target:
                return Reply(Move(MoveKind.ACCEPT), "I accept.")
        choice = next(b for w, b in bundles if w >= target - 1e-9)
        kind = MoveKind.PROPOSE if MoveKind.PROPOSE in request.legal else MoveKind.COUNTER
        items = request.private["items"]
        text = "I take " + ", ".join(f"{n} {name}" for n, name in zip(choice, items))
        return Reply(Move(kind, choice), text)

    # the game-generic view offline agents share: an offer is what its maker keeps, worth the
    # asked seat's private values (the rest, when the other side made it)
    def offer_space(self, request: MoveRequest) -> list[tuple[int, ...]]:
        counts = request.private["counts"]
        return [tuple(b) for b in itertools.product(*(range(c + 1) for c in counts))]

    def offer_value(self, offer: object, side: str, by: str, request: MoveRequest) -> float:
        values, counts = request.private["values"], request.private["counts"]
        bundle = tuple(offer)  # type: ignore[arg-type]
        mine = bundle if by == side else tuple(c - n for c, n in zip(counts, bundle))
        return float(sum(v * n for v, n in zip(values, mine)))
