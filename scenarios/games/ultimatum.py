"""The repeated ultimatum game of "Kiss up, Kick down": propose a split, accept or reject it."""
from __future__ import annotations

import random

from scenarios.game import Game
from scenarios.moves import (ACCEPT, INVALID, PROPOSE, REJECT, Move, MoveKind, MoveRequest,
                             Reply, Turn, made_move, made_reply)
from scenarios.builtins import builtin
from scenarios.schema import UltimatumSpec
from scenarios.state import MatchState, Outcome, OutcomeSpace

_PROPOSE = frozenset({PROPOSE})
_RESPOND = frozenset({ACCEPT, REJECT})
_ACCEPT, _REJECT = Move(ACCEPT), Move(REJECT)  # immutable: one for every answer
_new = tuple.__new__  # requests and turns from the state's own constants: no checks to repeat


class UltimatumState(MatchState):
    """Rounds of propose-then-respond. A rejection, or an unusable move, pays both 0 that round."""

    def __init__(self, spec: UltimatumSpec) -> None:
        super().__init__()
        self.spec = spec
        self.scenario_name = spec.name
        self.round = 1
        self.offer: float | None = None  # the claim on the table this round
        self.responding = False
        self.payoff = {"a": 0.0, "b": 0.0}
        self.agreements = 0
        # read every turn: plain attributes, not the spec's
        self._rounds, self._pie, self._alternate = spec.rounds, spec.pie, spec.alternate

    def proposer(self, round_: int) -> str:
        return "a" if (not self._alternate or round_ % 2 == 1) else "b"

    @property
    def is_terminal(self) -> bool:
        return self.round > self._rounds

    def request(self) -> MoveRequest:
        round_, turns = self.round, self.turns
        proposer = self.proposer(round_)
        if self.responding:
            side = "b" if proposer == "a" else "a"
            return _new(MoveRequest, (self.spec.name, side, "responder", round_, len(turns),
                                      _RESPOND, tuple(turns), self.offer, {}, self._rounds))
        return _new(MoveRequest, (self.spec.name, proposer, "proposer", round_, len(turns),
                                  _PROPOSE, tuple(turns), None, {}, self._rounds))

    def check(self, move: Move, request: MoveRequest) -> str | None:
        kind = move.kind
        if kind is INVALID or kind not in request.legal:
            return request.validate(move)
        if kind is PROPOSE:
            offer = move.offer
            if not isinstance(offer, (int, float)) or isinstance(offer, bool):
                return f"a proposal must claim a number of {self.spec.units}, got {offer!r}"
            if not 0 <= offer <= self._pie:
                return f"claim {offer:g} is outside 0..{self._pie:g}"
        return None

    def apply(self, move: Move, text: str = "") -> Turn:
        if self.is_terminal:
            raise RuntimeError("the match is over")
        round_ = self.round
        request_side = self.proposer(round_)
        claim = None
        if not self.responding:
            side, role = request_side, "proposer"
            if move.kind is PROPOSE:
                claim = self._snap(float(move.offer))  # type: ignore[arg-type]
                move = made_move(PROPOSE, claim)  # the move as played: the snapped claim
                self.offer = claim
                self.responding = True
            else:  # no usable proposal: the round is void
                self._next_round()
        else:
            side, role = ("b" if request_side == "a" else "a"), "responder"
            if move.kind is ACCEPT and self.offer is not None:
                self.payoff[request_side] += self.offer
                self.payoff[side] += self._pie - self.offer
                self.agreements += 1
            self._next_round()
        turns = self.turns
        turn = _new(Turn, (len(turns), round_, side, role, move, text, claim))
        turns.append(turn)
        return turn

    def _next_round(self) -> None:
        self.round += 1
        self.offer = None
        self.responding = False

    def _snap(self, value: float) -> float:
        step = self.spec.step
        snapped = round(value / step) * step
        return float(min(max(snapped, 0.0), self._pie))

    def outcome(self) -> Outcome:
        total = self.spec.pie * self.spec.rounds
        a, b = self.payoff["a"], self.payoff["b"]
        return Outcome.pair(a, b, self.agreements > 0, self.agreements, a / total, b / total,
                       len(self.turns))

    def outcome_space(self) -> OutcomeSpace:
        """Over all rounds the two split rounds x pie in any proportion (a rejected round
        pays both 0: inside the frontier)."""
        total = self.spec.pie * self.spec.rounds
        return OutcomeSpace(((total, 0.0), (0.0, total)), convex=True,
                            claim_scale=(self.spec.pie, self.spec.pie), offer="claim")

    def read(self, text: str, request: MoveRequest) -> Move:
        """The offline reading of a free-text reply; an unsure one is an "ambiguous" invalid
        move (the reading rides along, so a hybrid extractor can send it to an LLM)."""
        from scenarios.reading import THRESHOLD, read_acceptance, read_claim

        threshold = THRESHOLD if self.spec.read_threshold is None else self.spec.read_threshold
        if request.role == "proposer":
            reading = read_claim(text, self.spec.pie)
            if reading.value is None:
                return Move.invalid("no proposal found in the text", reading)
            if reading.confidence < threshold:
                return Move.invalid(f"ambiguous: {reading.reason}", reading)
            return Move(MoveKind.PROPOSE, float(reading.value), reading=reading)
        reading = read_acceptance(text, self.spec.pie)
        if reading.value is None:
            return Move.invalid("neither an acceptance nor a rejection found in the text",
                                reading)
        if reading.confidence < threshold:
            return Move.invalid(f"ambiguous: {reading.reason}", reading)
        return Move(MoveKind.ACCEPT if reading.value else MoveKind.REJECT, reading=reading)

    def random_move(self, rng: random.Random, request: MoveRequest) -> Move:
        if request.role == "proposer":
            steps = int(self.spec.pie / self.spec.step)
            return Move(MoveKind.PROPOSE, rng.randint(0, steps) * self.spec.step)
        return Move(rng.choice((MoveKind.ACCEPT, MoveKind.REJECT)))

    def describe_offer(self, offer: object, side: str) -> str:
        claim = float(offer)  # type: ignore[arg-type]
        return f"${claim:g} for me and ${self.spec.pie - claim:g} for you"


@builtin
class UltimatumGame(Game):
    """The paper's game; `family = "ultimatum"` lets the surrogate, the confederate and the
    paper's LLM extractor play it (and any plugin game that keeps its protocol)."""

    name = "ultimatum"
    behaviour = "claim share"
    Spec = UltimatumSpec
    roles = ("proposer", "responder")
    moves = ("propose", "accept", "reject")
    family = "ultimatum"
    hints = {"proposer": "e.g. \"90/10\", \"90\" (what you keep) or \"I take $60 and you "
                         "get $40\"",
             "responder": "e.g. \"accept\" or \"reject\""}
    spec: UltimatumSpec

    def start(self, seats: int, rng: random.Random) -> UltimatumState:
        return UltimatumState(self.spec)

    def max_turns(self, seats: int) -> int:
        return 2 * self.spec.rounds

    def payoff_range(self, seats: int) -> tuple[float, float]:
        return 0.0, self.spec.pie * self.spec.rounds

    def calls_per_seat(self, seats: int) -> int:
        return self.spec.rounds  # an unreadable proposal voids its round: no response follows

    def offer_range(self) -> tuple[float, float]:
        return 0.0, float(self.spec.pie)

    def concession(self, request: MoveRequest, share: float) -> Reply:
        """Claim between half the pie and all of it; accept what leaves at least the rest."""
        pie = self.spec.pie
        claim = round(pie / 2 + pie / 2 * share)
        if request.role == "proposer":
            return Reply(Move(MoveKind.PROPOSE, float(claim)), f"${claim} for me.")
        offer_to_me = pie - float(request.offer_on_table)  # type: ignore[arg-type]
        if offer_to_me >= pie - claim:
            return made_reply(_ACCEPT, "I accept.")
        return made_reply(_REJECT, "I reject.")

    # the game-generic view offline agents share (a planted agent's demand share): a claim is
    # what its proposer keeps, the responder gets the rest
    def offer_space(self, request: MoveRequest) -> list[float]:
        steps = round(self.spec.pie / self.spec.step)
        return [k * self.spec.step for k in range(steps + 1)]

    def offer_value(self, offer: object, side: str, by: str, request: MoveRequest) -> float:
        claim = float(offer)  # type: ignore[arg-type]
        return claim if by == side else float(self.spec.pie) - claim
