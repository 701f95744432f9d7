"""The game interface: what a negotiation game defines, built-in or a user's plugin alike.

A *game* is rules apart from state. The class declares its parameters (a pydantic `Spec`, whose
fields a scenario file fills), its seats (`min_seats`..`max_seats`) and role names; an instance
holds one parsed spec and makes fresh match states (`start`). Everything in the engine, the
agents, the estimate and the CLI that depends on the game asks these methods instead of the
game's name. A new game must define `name`, `Spec`, `roles`, `start`, `payoff_range` (and a
turn bound: `max_turns`, or a spec field `max_turns` or `rounds`) and a `MatchState` subclass
with `is_terminal`, `request`, `apply`, `outcome`, `read`, `random_move` (and usually `check`
and `describe_offer`); everything else below has a default that fits most games.
"""
from __future__ import annotations

import json
import math
import random
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from scenarios.moves import OFFER_KINDS, SIDES, Move, MoveKind, MoveRequest, Reply
from scenarios.state import MatchState

SEAT_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")
# placeholders every game's instructions may use (see Game.prompt_fields)
BASE_PLACEHOLDERS = frozenset({"role", "rounds_total", "seats", "seat_number", "roles",
                               "others"})


class Strict(BaseModel):
    """Strict parameters: inf and nan are valid TOML floats but no valid pie, price or
    reservation; a bool is no count (`rounds = true` is not one round), a float no int."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


class GameSpec(Strict):
    """What every scenario file holds; a game's `Spec` adds its own parameters. `game` is the
    registered name, or a `package.module:Class` reference for a user's game."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    units: str = "dollars"
    # Prompt templates for LLM negotiators; keys are looked up with fallbacks, see agents/prompts.
    prompts: dict[str, str] = Field(default_factory=dict)
    game: str


def seat_word(side: str) -> str:
    """The prompt-key seat name of a side ("a" -> "first", "c" -> "third")."""
    return SEAT_WORDS[SIDES.index(side)]


class Game:
    """Rules of one game family over one parsed spec. Subclass it and set the class fields."""

    name: ClassVar[str] = ""  # what `game = "..."` names (built-ins and entry points)
    Spec: ClassVar[type[GameSpec]] = GameSpec
    min_seats: ClassVar[int] = 2
    max_seats: ClassVar[int] = 2
    roles: ClassVar[tuple[str, ...]] = ("first", "second")  # one per seat, or one for all
    moves: ClassVar[tuple[str, ...]] = ("propose", "accept", "reject")  # kinds the game uses
    placeholders: ClassVar[frozenset[str]] = frozenset()  # instructions placeholders it adds
    hints: ClassVar[dict[str, str]] = {}  # what a person types, per role ("" for every role)
    family: ClassVar[str] = ""  # "ultimatum": the paper's claim-of-a-pie protocol (surrogate ...)
    # what the pairing-effect models fit for this game: a proposal's `claim` read by
    # `claim_share` (the proposer's demand as a share of what it could win)
    behaviour: ClassVar[str] = "demanded share"

    def __init__(self, spec: GameSpec) -> None:
        self.spec = spec

    # -- seats and roles ---------------------------------------------------------------
    @property
    def default_seats(self) -> int:
        # read once per spec (a frozen model): a spec without `seats` costs pydantic an
        # exception on every getattr, and the engine asks this for every match
        spec, cached = self.spec, self.__dict__.get("_default_seats")
        if cached is None or cached[0] is not spec:
            cached = self.__dict__["_default_seats"] = (
                spec, int(getattr(spec, "seats", None) or self.min_seats))
        return cached[1]

    def seat_roles(self, seats: int | None = None) -> tuple[str, ...]:
        """The role name of each seat at the start of a match."""
        n = seats or self.default_seats
        roles = tuple(self.roles)
        return roles[:n] if len(roles) >= n else (roles + roles[-1:] * n)[:n]

    # -- states ---------------------------------------------------------------------
    def start(self, seats: int, rng: random.Random) -> MatchState:
        """A fresh state for `seats` seats. `rng` is the only randomness the rules may use
        (a drawn proposer ...): the runner seeds it, so a rerun replays exactly."""
        raise NotImplementedError(f"game {self.name or type(self).__name__} defines no start()")

    def new_state(self, seats: int | None = None, seed: int = 0) -> MatchState:
        n = seats or self.default_seats
        if not self.min_seats <= n <= self.max_seats:
            raise ValueError(f"game {self.name} takes {self.min_seats}..{self.max_seats} seats, "
                             f"not {n}")
        state = self.start(n, random.Random(seed))
        state.game = self
        if not state.scenario_name:
            state.scenario_name = self.spec.name
        return state

    # -- bounds the conformance check holds the game to ---------------------------------
    def max_turns(self, seats: int) -> int:
        """An upper bound on the turns of any match (random legal play must end within it)."""
        for field in ("max_turns", "rounds"):
            value = getattr(self.spec, field, None)
            if isinstance(value, int):
                return value if field == "max_turns" else value * seats
        raise NotImplementedError(f"game {self.name} declares no turn bound (max_turns)")

    def payoff_range(self, seats: int) -> tuple[float, float]:
        """The least and most any one seat can be paid."""
        raise NotImplementedError(f"game {self.name} declares no payoff_range()")

    def calls_per_seat(self, seats: int) -> int:
        """Moves one seat makes in a match at most (the cost estimate)."""
        return math.ceil(self.max_turns(seats) / seats)

    # -- prompts ----------------------------------------------------------------------
    def placeholder_names(self) -> frozenset[str]:
        """Every placeholder instructions may use: the base ones, the spec's plain fields
        (`{pie}`, `{units}`, `{rounds}`, prices ...) and the game's own."""
        scalars = {k for k, v in self.spec
                   if isinstance(v, (int, float, str)) and k not in ("prompts", "game")}
        return BASE_PLACEHOLDERS | scalars | self.placeholders

    def prompt_fields(self, request: MoveRequest) -> dict[str, Any]:
        """The values of the placeholders for the seat that `request` asks."""
        fields = {k: v for k, v in self.spec if isinstance(v, (int, float, str))
                  and k not in ("prompts", "game")}
        roles = self.seat_roles(self.seats_of(request))
        index = SIDES.index(request.side)
        others = [(i + 1, r) for i, r in enumerate(roles) if i != index]
        named = len({r for _, r in others}) > 1 or len(roles) == 2  # "player 2 (responder)"
        fields.update(role=request.role, rounds_total=request.rounds_total, seats=len(roles),
                      seat_number=index + 1, roles=", ".join(roles),
                      others=", ".join(f"player {i} ({r})" if named else f"player {i}"
                                       for i, r in others))
        return fields

    def seats_of(self, request: MoveRequest) -> int:
        """How many seats the match of `request` has (from its private view, else the default)."""
        return int(request.private.get("seats", self.default_seats))

    # -- JSON moves -------------------------------------------------------------------
    def move_to_json(self, move: Move) -> dict[str, Any]:
        """A move as the JSON object an LLM would answer with (the JSON protocol)."""
        data: dict[str, Any] = {"move": move.kind.value}
        if move.offer is not None:
            offer = move.offer
            data["offer"] = list(offer) if isinstance(offer, tuple) else offer
        return data

    def move_from_json(self, data: dict[str, Any]) -> Move | str:
        """A JSON object as a move, or why it is none. The amount may be called offer, claim,
        price or keep; a list is a tuple of counts."""
        try:
            kind = MoveKind(str(data.get("move", "")).strip().lower())
        except ValueError:
            return f'"move" must be one of {", ".join(self.moves)} (got {data.get("move")!r})'
        if kind not in OFFER_KINDS:
            return Move(kind)
        amount = next((data[k] for k in ("claim", "price", "offer", "keep")
                       if data.get(k) is not None), None)
        if amount is None:
            return f'a "{kind.value}" move needs an amount ("claim", "price" or "offer")'
        offer = self.offer_from_json(amount)
        return Move(kind, offer) if not isinstance(offer, str) else offer

    def offer_from_json(self, amount: Any) -> Any:
        """The offer a JSON amount stands for, or a string saying why there is none."""
        if isinstance(amount, bool):
            return f"an offer must be a number or a list of counts, got {json.dumps(amount)}"
        if isinstance(amount, (int, float)):
            return float(amount)
        if isinstance(amount, list) and all(isinstance(n, (int, float)) and
                                            not isinstance(n, bool) and float(n).is_integer()
                                            for n in amount):
            return tuple(int(n) for n in amount)
        return f"an offer must be a number or a list of counts, got {json.dumps(amount)[:60]}"

    def json_schema(self) -> dict[str, Any]:
        """The JSON schema of a move object (hints and docs)."""
        return {"type": "object", "required": ["move"],
                "properties": {"move": {"enum": list(self.moves)},
                               "offer": {"type": ["number", "array"]},
                               "message": {"type": "string"}}}

    def json_hint(self) -> str:
        """The generic JSON instruction, for a scenario without json_* prompts."""
        kinds = ", ".join(f'"{k}"' for k in self.moves)
        return (f'Answer with a JSON object only, with "move" (one of {kinds}), "offer" when you '
                'propose or counter, and optionally a "message".')

    # -- people ---------------------------------------------------------------------
    def hint(self, role: str) -> str | None:
        """Examples of what a person may type in `role`; None for the generic hint."""
        return self.hints.get(role) or self.hints.get("")

    def private_lines(self, request: MoveRequest) -> list[str]:
        """What only the asked seat knows, in sentences for a person (`serve`'s page)."""
        return []

    def offer_terms(self, offer: Any) -> str | None:
        """An offer in neutral words ("salary: $110k; ..."), for a person's echo of it; None
        where the game has none (its `describe_offer` speaks as the proposer)."""
        return None

    def offer_range(self) -> tuple[float, float] | None:
        """The numbers a one-number offer may take (a claim of the pie, a price), or None when
        an offer is no single number."""
        return None

    # -- what offline agents use -------------------------------------------------------
    def progress(self, request: MoveRequest) -> float:
        """How far the match has run, 0..1 (concession tactics concede along it)."""
        total = max(request.rounds_total - 1, 1)
        return min(request.turn_index / total, 1.0)

    def concession(self, request: MoveRequest, share: float) -> Reply | None:
        """A game's own concession move demanding `share` of the way from its reservation to
        its best outcome; None lets the agent's game-generic aspiration decide (from
        `offer_space`, `offer_value` and `reservation_value`)."""
        return None

    def offer_space(self, request: MoveRequest) -> list[Any]:
        """The offers the asked seat may make (finite; a grid for continuous offers)."""
        return []

    def offer_value(self, offer: Any, side: str, by: str, request: MoveRequest) -> float:
        """What `side` is paid if `offer`, made by `by`, is agreed."""
        raise NotImplementedError(f"game {self.name} defines no offer_value()")

    def reservation_value(self, side: str, request: MoveRequest) -> float:
        """What `side` is paid without an agreement."""
        return 0.0

    # -- what the analysis models -------------------------------------------------------
    def claim_scale(self, side: str, seats: int) -> float | None:
        """What one proposal's claim by `side` is out of: the game's declared `claim_scale`
        (two seats), else the most a seat can be paid. None when it has no positive scale."""
        space = self.new_state(seats).outcome_space() if seats == 2 else None
        if space is not None:
            scale = float(space.claim_scale[SIDES.index(side)])
        else:
            scale = float(self.payoff_range(seats)[1])
        return scale if math.isfinite(scale) and scale > 0 else None

    def claim_share(self, claim: Any, side: str, seats: int) -> float | None:
        """The declared `behaviour` of one proposal: what `side` demands for itself as a share
        of what it could win (0..1 in most games). `claim` may be a numpy array (the analysis
        reads all of a seat's proposals at once). Games whose claim counts from a
        reservation (points) override it to read the surplus share."""
        scale = self.claim_scale(side, seats)
        return None if scale is None else claim / scale
