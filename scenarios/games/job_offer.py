"""Job offer: a multi-issue integrative negotiation between a candidate and a recruiter.

Each issue (salary, start date, vacation, location, bonus ...) has options, and each side scores
every option privately. Issues are `opposed` (what one side gains the other loses), `compatible`
(both prefer the same option, by different amounts) or `shared` (both score it alike), so that
trading an issue one side cares little about for one it cares much about makes both better off.
An offer names one option per issue; a deal pays each side its points, no deal (a walk-away,
or the turn limit) its reservation value. The Pareto frontier follows from the spec alone.
"""
from __future__ import annotations

import itertools
import random
import re
from typing import Any, Literal

from pydantic import Field, model_validator

from scenarios.game import Game, GameSpec, Strict
from scenarios.moves import (ACCEPT, COUNTER, OFFER_KINDS, PROPOSE, WALK_AWAY, Move, MoveKind,
                             SIDES, MoveRequest, Turn)
from scenarios.builtins import builtin
from scenarios.state import MatchState, Outcome, OutcomeSpace
from scenarios.text import looks_like_acceptance, looks_like_walk_away

ROLES = ("candidate", "recruiter")
MAX_OFFERS = 100_000  # the whole offer space is enumerated (frontier, concession): keep it small


class Issue(Strict):
    name: str = Field(min_length=1)
    kind: Literal["opposed", "compatible", "shared"] = "opposed"
    options: list[str] = Field(min_length=2, max_length=20)
    candidate: list[int]  # the candidate's points for each option (private)
    recruiter: list[int]  # the recruiter's points for each option (private)

    @model_validator(mode="after")
    def _check(self) -> "Issue":
        for side in ROLES:
            scores = getattr(self, side)
            if len(scores) != len(self.options):
                raise ValueError(f"issue {self.name!r}: {side} must score each of the "
                                 f"{len(self.options)} options, got {len(scores)}")
            if any(not -1_000_000 <= s <= 1_000_000 for s in scores):
                raise ValueError(f"issue {self.name!r}: {side} scores must lie in "
                                 "-1000000..1000000")
        c, r = self.candidate, self.recruiter
        if self.kind == "shared" and c != r:
            raise ValueError(f"issue {self.name!r} is shared, so both sides score it alike "
                             f"(got {c} and {r})")
        if self.kind == "compatible" and c.index(max(c)) != r.index(max(r)):
            raise ValueError(f"issue {self.name!r} is compatible, so both sides' best option "
                             f"is the same (got {self.options[c.index(max(c))]!r} and "
                             f"{self.options[r.index(max(r))]!r})")
        if self.kind == "opposed" and any((c[i] - c[j]) * (r[i] - r[j]) > 0
                                          for i in range(len(c)) for j in range(i)):
            raise ValueError(f"issue {self.name!r} is opposed, so an option one side scores "
                             "higher the other may not score higher too")
        return self


class JobOfferSpec(GameSpec):
    game: Literal["job-offer"]
    issues: list[Issue] = Field(min_length=1, max_length=10)
    candidate_reservation: int  # the candidate's points without a deal (its best alternative)
    recruiter_reservation: int
    max_turns: int = Field(ge=1, le=10000)
    first_mover: Literal["candidate", "recruiter"] = "recruiter"

    @model_validator(mode="after")
    def _check(self) -> "JobOfferSpec":
        seen: dict[str, str] = {}
        names: set[str] = set()
        size = 1
        for i, issue in enumerate(self.issues):
            if issue.name.lower() in names:
                raise ValueError(f"field 'issues.{i}.name': duplicate issue name {issue.name!r}")
            names.add(issue.name.lower())
            for option in issue.options:
                key = option.strip().lower()
                if key in seen:  # offers are read by their option labels, so each is unique
                    raise ValueError(f"field 'issues.{i}.options': option {option!r} is also an "
                                     f"option of {seen[key]!r} (labels must be unique)")
                seen[key] = issue.name
            size *= len(issue.options)
        if size > MAX_OFFERS:
            raise ValueError(f"field 'issues': {size:,} possible offers, more than {MAX_OFFERS:,}")
        return self

    @property
    def roles(self) -> tuple[str, str]:
        other = ROLES[1] if self.first_mover == ROLES[0] else ROLES[0]
        return (self.first_mover, other)


def points(spec: JobOfferSpec, role: str, offer: tuple[int, ...]) -> int:
    return sum(getattr(issue, role)[k] for issue, k in zip(spec.issues, offer))


def terms(spec: JobOfferSpec, offer: tuple[int, ...]) -> str:
    return "; ".join(f"{issue.name}: {issue.options[k]}" for issue, k in zip(spec.issues, offer))


def all_offers(spec: JobOfferSpec) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(len(i.options)) for i in spec.issues)))


def pareto_frontier(spec: JobOfferSpec) -> list[tuple[int, int, tuple[int, ...]]]:
    """The offers no other offer improves for one side without hurting the other, as
    (candidate points, recruiter points, offer), by the candidate's points."""
    scored = sorted(((points(spec, "candidate", o), points(spec, "recruiter", o), o)
                     for o in all_offers(spec)), key=lambda t: (-t[0], -t[1], t[2]))
    frontier, best_r = [], None
    for c, r, o in scored:
        if best_r is None or r > best_r:
            frontier.append((c, r, o))
            best_r = r
    return sorted(frontier)


class JobOfferState(MatchState):
    """Side a is the first mover. Offers are a tuple of option indices, one per issue."""

    def __init__(self, spec: JobOfferSpec) -> None:
        super().__init__()
        self.spec = spec
        self.scenario_name = spec.name
        self.roles = {"a": spec.roles[0], "b": spec.roles[1]}
        self.offer: tuple[int, ...] | None = None
        self.deal: tuple[int, ...] | None = None
        self.ended = False
        self._labels = [[(re.compile(rf"(?<![\w$]){re.escape(o.strip().lower())}(?!\w)"), k)
                         for k, o in enumerate(issue.options)] for issue in spec.issues]

    def _side(self) -> str:
        return "a" if len(self.turns) % 2 == 0 else "b"

    @property
    def is_terminal(self) -> bool:
        return self.ended or len(self.turns) >= self.spec.max_turns

    def request(self) -> MoveRequest:
        side = self._side()
        role = self.roles[side]
        legal = frozenset({PROPOSE, WALK_AWAY}) if self.offer is None else frozenset(
            {ACCEPT, COUNTER, WALK_AWAY})
        private = {"role": role, "seats": 2,
                   "scores": [list(getattr(issue, role)) for issue in self.spec.issues],
                   "reservation": getattr(self.spec, f"{role}_reservation")}
        return MoveRequest(self.spec.name, side, role, len(self.turns) + 1, len(self.turns),
                           legal, tuple(self.turns), self.offer, private, self.spec.max_turns)

    def check(self, move: Move, request: MoveRequest) -> str | None:
        why = request.validate(move)
        if why is None and move.kind in OFFER_KINDS:
            offer = move.offer
            issues = self.spec.issues
            if not isinstance(offer, tuple) or len(offer) != len(issues):
                return f"an offer must name one option for each of the {len(issues)} issues"
            for k, issue in zip(offer, issues):
                if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k < len(
                        issue.options):
                    return f"option {k!r} of {issue.name} is not one of 0..{len(issue.options) - 1}"
        return why

    def apply(self, move: Move, text: str = "") -> Turn:
        if self.is_terminal:
            raise RuntimeError("the match is over")
        side = self._side()
        claim = None
        if move.kind in OFFER_KINDS:
            self.offer = tuple(int(k) for k in move.offer)
            move = Move(move.kind, self.offer)
            claim = float(points(self.spec, self.roles[side], self.offer))
        elif move.kind is ACCEPT and self.offer is not None:
            self.deal, self.ended = self.offer, True
        elif move.kind is WALK_AWAY:
            self.ended = True
        turn = Turn(len(self.turns), len(self.turns) + 1, side, self.roles[side], move, text, claim)
        self.turns.append(turn)
        return turn

    def outcome(self) -> Outcome:
        pays, shares = [], []
        for side in ("a", "b"):
            role = self.roles[side]
            best = sum(max(getattr(issue, role)) for issue in self.spec.issues)
            pay = (points(self.spec, role, self.deal) if self.deal is not None
                   else getattr(self.spec, f"{role}_reservation"))
            pays.append(float(pay))
            shares.append(pay / best if best > 0 else None)
        deal = self.deal is not None
        return Outcome(tuple(pays), deal, int(deal), tuple(shares), len(self.turns))

    def outcome_space(self) -> OutcomeSpace:
        """Every offer's points for (seat a, seat b), with no deal at the reservations: the
        analysis measures each deal against this frontier (a discrete one: these are all the
        deals there are)."""
        roles = (self.roles["a"], self.roles["b"])
        best = tuple(float(sum(max(getattr(i, r)) for i in self.spec.issues)) for r in roles)
        return OutcomeSpace(tuple((float(points(self.spec, roles[0], o)),
                                   float(points(self.spec, roles[1], o)))
                                  for o in all_offers(self.spec)), convex=False,
                            claim_scale=best, offer="offer",
                            disagreement=tuple(float(getattr(self.spec, f"{r}_reservation"))
                                               for r in roles))

    def read(self, text: str, request: MoveRequest) -> Move:
        if WALK_AWAY in request.legal and looks_like_walk_away(text):
            return Move(WALK_AWAY)
        offer = self.read_offer(text)
        if isinstance(offer, tuple):
            return Move(PROPOSE if PROPOSE in request.legal else COUNTER, offer)
        if ACCEPT in request.legal and looks_like_acceptance(text):
            return Move(ACCEPT)
        return Move.invalid(offer)

    def read_offer(self, text: str) -> tuple[int, ...] | str:
        """One option per issue, named by its label; where an issue's labels occur more than
        once, the one nearest after the issue's name counts. A reason when one is missing."""
        lowered = text.lower()
        offer = []
        for issue, labels in zip(self.spec.issues, self._labels):
            found = [(m.start(), k) for pattern, k in labels for m in pattern.finditer(lowered)]
            if not found:
                return f"no option for {issue.name} found in the text"
            if len({k for _, k in found}) > 1:
                at = lowered.find(issue.name.lower())
                after = [(pos, k) for pos, k in found if pos > at] if at >= 0 else []
                if not after:
                    return f"several options for {issue.name} named in the text"
                found = [min(after)]
            offer.append(found[0][1])
        return tuple(offer)

    def random_move(self, rng: random.Random, request: MoveRequest) -> Move:
        kind = rng.choice(sorted(request.legal, key=lambda k: k.value))
        if kind in OFFER_KINDS:
            return Move(kind, tuple(rng.randrange(len(i.options)) for i in self.spec.issues))
        return Move(kind)

    def describe_offer(self, offer: Any, side: str) -> str:
        return "I propose " + terms(self.spec, offer)


@builtin
class JobOfferGame(Game):
    name = "job-offer"
    behaviour = "surplus share"
    Spec = JobOfferSpec
    moves = ("propose", "counter", "accept", "walk_away")
    placeholders = frozenset({"issues", "issue_names", "reservation", "other_role", "example"})
    hints = {"": "one option per issue, e.g. \"salary $110k, start in 4 weeks, ...\"; or "
                 "\"accept\" / \"walk away\""}
    spec: JobOfferSpec

    @property
    def roles(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.spec.roles

    def start(self, seats: int, rng: random.Random) -> JobOfferState:
        return JobOfferState(self.spec)

    def payoff_range(self, seats: int) -> tuple[float, float]:
        lows, highs = [], []
        for role in ROLES:
            scores = [getattr(issue, role) for issue in self.spec.issues]
            reservation = getattr(self.spec, f"{role}_reservation")
            lows.append(min(reservation, sum(min(s) for s in scores)))
            highs.append(max(reservation, sum(max(s) for s in scores)))
        return float(min(lows)), float(max(highs))

    def offer_terms(self, offer: Any) -> str:
        return terms(self.spec, offer)

    def claim_share(self, claim: Any, side: str, seats: int) -> Any:
        """The surplus share: the points claimed above the seat's reservation, out of the most
        it could gain above it (a claim below the reservation is negative)."""
        role = self.spec.roles[SIDES.index(side)]
        reservation = getattr(self.spec, f"{role}_reservation")
        gain = sum(max(getattr(issue, role)) for issue in self.spec.issues) - reservation
        return (claim - reservation) / gain if gain > 0 else None

    def frontier(self) -> list[tuple[int, int, tuple[int, ...]]]:
        return pareto_frontier(self.spec)

    def prompt_fields(self, request: MoveRequest) -> dict[str, Any]:
        fields = super().prompt_fields(request)
        role = request.private.get("role", request.role)
        scores = request.private["scores"]
        issues = self.spec.issues
        fields.update(
            role=role, reservation=request.private["reservation"],
            other_role=ROLES[1] if role == ROLES[0] else ROLES[0],
            issue_names=", ".join(i.name for i in issues),
            issues="\n".join(f"- {issue.name}: " + ", ".join(
                f"{o} ({s} points)" for o, s in zip(issue.options, mine))
                for issue, mine in zip(issues, scores)),
            example=JobOfferState(self.spec).describe_offer(
                tuple(len(i.options) // 2 for i in issues), request.side))
        return fields

    def private_lines(self, request: MoveRequest) -> list[str]:
        fields = self.prompt_fields(request)
        return [f"You are the {fields['role']}. Your points for each option, which the "
                f"{fields['other_role']} does not know:", *fields["issues"].splitlines(),
                f"Without an agreement you get {fields['reservation']} points."]

    def move_to_json(self, move: Move) -> dict[str, Any]:
        data: dict[str, Any] = {"move": move.kind.value}
        if move.offer is not None:
            data["offer"] = {i.name: i.options[k] for i, k in zip(self.spec.issues, move.offer)}
        return data

    def offer_from_json(self, amount: Any) -> Any:
        """{"salary": "$110k", ...} (issue names and option labels, any case) or a list of
        labels or option numbers in issue order."""
        issues = self.spec.issues
        if isinstance(amount, dict):
            by_name = {str(k).strip().lower(): v for k, v in amount.items()}
            missing = [i.name for i in issues if i.name.lower() not in by_name]
            if missing:
                return f"the offer names no option for {', '.join(missing)}"
            values = [by_name[i.name.lower()] for i in issues]
        elif isinstance(amount, list) and len(amount) == len(issues):
            values = amount
        else:
            return (f"an offer must map each issue ({', '.join(i.name for i in issues)}) to "
                    "one of its options")
        offer = []
        for issue, value in zip(issues, values):
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(
                    issue.options):
                offer.append(value)
                continue
            labels = [o.strip().lower() for o in issue.options]
            if not isinstance(value, str) or value.strip().lower() not in labels:
                return (f"{issue.name}: {value!r} is not one of its options "
                        f"({', '.join(issue.options)})")
            offer.append(labels.index(value.strip().lower()))
        return tuple(offer)

    def json_schema(self) -> dict[str, Any]:
        return {"type": "object", "required": ["move"], "properties": {
            "move": {"enum": list(self.moves)},
            "offer": {"type": "object", "required": [i.name for i in self.spec.issues],
                      "properties": {i.name: {"enum": list(i.options)} for i in self.spec.issues}},
            "message": {"type": "string"}}}

    def json_hint(self) -> str:
        example = {i.name: i.options[0] for i in self.spec.issues}
        return ('Answer with a JSON object only: {"move": "propose", "offer": '
                + str(example).replace("'", '"') + ', "message": "..."}, {"move": "counter", '
                '"offer": {...}}, {"move": "accept"} or {"move": "walk_away"}; the offer names '
                'one option for every issue.')

    def offer_space(self, request: MoveRequest) -> list[Any]:
        return all_offers(self.spec)

    def offer_value(self, offer: Any, side: str, by: str, request: MoveRequest) -> float:
        return float(points(self.spec, self.spec.roles[0 if side == "a" else 1], offer))

    def reservation_value(self, side: str, request: MoveRequest) -> float:
        return float(request.private["reservation"])
