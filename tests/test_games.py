"""Games as plugins: the registry, the conformance check (passing on every built-in and the
example, failing with its reason on broken games), job-offer and majority-division."""
from __future__ import annotations

import json
import os
import random
import textwrap
from pathlib import Path
from typing import Any

import pytest

from scenarios.conformance import ConformanceError, assert_conforms, check_scenario
from scenarios.errors import InputError
from scenarios.loader import builtin_names, load_scenario, load_scenario_file
from scenarios.moves import ACCEPT, COUNTER, PROPOSE, REJECT, WALK_AWAY, Move, MoveKind
from tests.helpers import ROOT, cli, table
from tests.llm_helpers import chats

EXAMPLE = ROOT / "examples" / "game-plugin"
EXAMPLE_SCENARIO = EXAMPLE / "nash-demand.toml"


# -- the check passes on every built-in game and the example ---------------------------------
@pytest.mark.parametrize("name", [*builtin_names(), str(EXAMPLE_SCENARIO)])
def test_every_builtin_and_the_example_conform(name: str) -> None:
    scenario = load_scenario(name)
    assert check_scenario(scenario) == []
    assert_conforms(scenario)


def test_cli_check_and_list(tmp_path: Path) -> None:
    ok = cli("scenarios", "check", str(EXAMPLE_SCENARIO))
    assert ok.returncode == 0, ok.stderr
    assert "ok (game nash-demand, 2..6 seats" in ok.stdout
    listing = cli("scenarios", "list")
    assert listing.returncode == 0, listing.stderr
    rows = {line.split()[0]: line for line in listing.stdout.split("games (", 1)[1].splitlines()[1:]}
    assert set(rows) >= {"ultimatum", "price-bargain", "item-division", "job-offer",
                         "majority-division"}
    assert "3-7 seats" in rows["majority-division"] and "built-in" in rows["majority-division"]


def test_an_installed_plugin_is_listed_with_its_origin(tmp_path: Path) -> None:
    """A distribution's entry point registers a game by name; a broken one is listed broken."""
    dist = tmp_path / "persona_arena_nash_demand-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: persona-arena-nash-demand\n"
                                   "Version: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[persona_arena.games]\n"
                                           "nash-demand = demand_game:NashDemand\n"
                                           "broken-one = no_such_module_xyz:Game\n")
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path), str(EXAMPLE)])}
    listing = cli("scenarios", "list", env=env)
    assert listing.returncode == 0, listing.stderr
    line = next(l for l in listing.stdout.splitlines() if l.startswith("nash-demand "))
    assert "2-6 seats" in line
    assert "entry point of persona-arena-nash-demand (demand_game:NashDemand)" in line
    broken = next(l for l in listing.stdout.splitlines() if l.startswith("broken-one "))
    assert "BROKEN" in broken and "cannot import module 'no_such_module_xyz'" in broken
    # a scenario file names the game by its entry point, without a module path
    scenario = tmp_path / "elsewhere" / "s.toml"
    scenario.parent.mkdir()
    scenario.write_text(EXAMPLE_SCENARIO.read_text().replace('"demand_game:NashDemand"',
                                                             '"nash-demand"'))
    checked = cli("scenarios", "check", str(scenario), env=env)
    assert checked.returncode == 0, checked.stderr


# -- broken games: the check fails, with the reason --------------------------------------------
BROKEN = '''
import random
from typing import Literal
from scenarios.game import Game, GameSpec
from scenarios.moves import PROPOSE, SIDES, Move, MoveRequest, Turn
from scenarios.state import MatchState, Outcome


class CountSpec(GameSpec):
    game: str
    turns: int = 4


class CountState(MatchState):
    """Each seat names a number 0..9 in turn; after `turns` turns each is paid its numbers."""

    def __init__(self, spec, seats):
        super().__init__()
        self.spec, self.n, self.pay = spec, seats, [0.0] * seats

    @property
    def is_terminal(self):
        return len(self.turns) >= self.spec.turns

    def request(self):
        side = SIDES[len(self.turns) % self.n]
        return MoveRequest(self.spec.name, side, "counter", len(self.turns) + 1, len(self.turns),
                           frozenset({PROPOSE}), tuple(self.turns), None, {"seats": self.n},
                           self.spec.turns)

    def apply(self, move, text=""):
        seat = len(self.turns) % self.n
        if move.kind is PROPOSE:
            self.pay[seat] += move.offer
        turn = Turn(len(self.turns), len(self.turns) + 1, SIDES[seat], "counter", move, text)
        self.turns.append(turn)
        return turn

    def outcome(self):
        return Outcome(tuple(self.pay), True, 1, tuple(p / 36 for p in self.pay), len(self.turns))

    def read(self, text, request):
        digits = [c for c in text if c.isdigit()]
        return Move(PROPOSE, float(digits[0])) if digits else Move.invalid("no number")

    def random_move(self, rng, request):
        return Move(PROPOSE, float(rng.randint(0, 9)))

    def describe_offer(self, offer, side):
        return f"I say {offer:g}"


class Count(Game):
    name = "count"
    Spec = CountSpec
    max_seats = 3
    roles = ("counter",)
    placeholders = frozenset({"mood"})

    def start(self, seats, rng):
        return CountState(self.spec, seats)

    def max_turns(self, seats):
        return self.spec.turns

    def payoff_range(self, seats):
        return 0.0, 9.0 * self.spec.turns


class NeverEndsState(CountState):
    @property
    def is_terminal(self):
        return False


class NeverEnds(Count):
    def start(self, seats, rng):
        return NeverEndsState(self.spec, seats)


class TooRichState(CountState):
    def outcome(self):
        return Outcome(tuple(p * 1000 for p in self.pay), True, 1, (None,) * self.n, len(self.turns))


class TooRich(Count):
    def start(self, seats, rng):
        return TooRichState(self.spec, seats)


class MoodyState(CountState):
    def random_move(self, rng, request):
        return Move(PROPOSE, float(random.randint(0, 9)))  # the global generator: not replayable


class Moody(Count):
    def start(self, seats, rng):
        return MoodyState(self.spec, seats)


class DeafState(CountState):
    def describe_offer(self, offer, side):
        return "a number"


class Deaf(Count):
    def start(self, seats, rng):
        return DeafState(self.spec, seats)


class NoStart(Game):
    name = "no-start"
    Spec = CountSpec

    def payoff_range(self, seats):
        return 0.0, 1.0


class HalfState(MatchState):
    is_terminal = True


class HalfGame(Count):
    def start(self, seats, rng):
        return HalfState()


class NotAGame:
    pass
'''


def _broken(tmp_path: Path, cls: str, prompt: str = "Hello {role}.") -> Path:
    module = f"broken_games_{abs(hash(str(tmp_path))) % 10**8}"
    (tmp_path / f"{module}.py").write_text(BROKEN)
    path = tmp_path / f"{cls}.toml"
    path.write_text(f'name = "x"\ngame = "{module}:{cls}"\nturns = 4\n'
                    f'[prompts]\ninstructions = "{prompt}"\n')
    return path


@pytest.mark.parametrize("cls, reason", [
    ("Count", None),
    ("NeverEnds", "2 seats, seed 0: random legal play did not end within the declared bound of "
                  "4 turns (max_turns)"),
    ("TooRich", "seat a's payoff 6000.0 is outside the declared payoff range 0..36"),
    ("Moody", "the same seed gave a different record"),
    ("Deaf", "the free-text reader reads the game's own description 'a number' of offer"),
])
def test_the_check_fails_broken_games_with_the_reason(tmp_path: Path, cls: str,
                                                      reason: str | None) -> None:
    scenario = load_scenario_file(_broken(tmp_path, cls))
    problems = check_scenario(scenario)
    if reason is None:
        assert problems == []
        return
    assert problems and reason in problems[0], problems
    with pytest.raises(ConformanceError, match="x|"):
        assert_conforms(scenario)


def test_a_placeholder_the_game_declares_but_does_not_fill_fails_the_check(tmp_path: Path) -> None:
    scenario = load_scenario_file(_broken(tmp_path, "Count", "You feel {mood}."))
    assert check_scenario(scenario) == [f"prompts.instructions (seat {seat}): unknown "
                                        "placeholder {mood}: the game does not fill it"
                                        for seat in ("first", "second", "third")]
    result = cli("scenarios", "check", str(tmp_path / "Count.toml"))
    assert result.returncode == 1
    assert result.stderr.startswith(f"{tmp_path / 'Count.toml'}: check failed: prompts."
                                    "instructions (seat first): unknown placeholder {mood}")


def test_a_placeholder_nobody_declares_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"field 'prompts.instructions': unknown placeholder "
                                         r"\{colour\} \(known: description, mood, name, "):
        load_scenario_file(_broken(tmp_path, "Count", "Blue {colour}."))


@pytest.mark.parametrize("cls, message", [
    ("NoStart", "is missing start(self, seats, rng) -> MatchState"),
    ("HalfGame", "its state HalfState is missing request"),
    ("NotAGame", "is a class, not a game (subclass scenarios.game.Game)"),
    ("Nowhere", "has no 'Nowhere'"),
])
def test_a_broken_plugin_is_refused_in_one_line(tmp_path: Path, cls: str, message: str) -> None:
    path = _broken(tmp_path, cls)
    result = cli("scenarios", "validate", str(path))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert message in result.stderr
    assert "broken_games_" in result.stderr  # the module is named
    missing = tmp_path / "missing.toml"
    missing.write_text('name = "x"\ngame = "no_such_pkg_q.games:Thing"\n')
    result = cli("scenarios", "check", str(missing))
    assert result.returncode == 2 and "cannot import module 'no_such_pkg_q.games'" in result.stderr


# -- prompts from the spec ------------------------------------------------------------------
def test_spec_fields_are_placeholders_checked_at_load(tmp_path: Path) -> None:
    from agents.prompts import fill, private_fields

    path = tmp_path / "u.toml"
    path.write_text('name = "u"\ngame = "ultimatum"\npie = 10\nrounds = 2\nunits = "euros"\n'
                    '[prompts]\ninstructions = "Split {pie:g} {units} over {rounds} rounds; you '
                    'are the {role}, against {others}."\n')
    scenario = load_scenario_file(path)
    request = scenario.new_state().request()
    assert fill(scenario.prompts["instructions"], "instructions",
                private_fields(request, scenario.rules)) == (
        "Split 10 euros over 2 rounds; you are the proposer, against player 2 (responder).")
    path.write_text(path.read_text().replace("{units}", "{currency}"))
    with pytest.raises(InputError, match=r"unknown placeholder \{currency\}"):
        load_scenario_file(path)


# -- job-offer -----------------------------------------------------------------------------
def _job_state():
    return load_scenario("job-offer").new_state()


def test_job_offer_payoffs_by_hand() -> None:
    state = _job_state()
    # the recruiter (a) opens low, the candidate counters, the recruiter accepts
    state.step(Move(PROPOSE, (0, 1, 0, 1, 0)))   # $90k, 4 weeks, 15 days, hybrid, no bonus
    state.step(Move(COUNTER, (2, 1, 2, 1, 1)))   # $110k, 4 weeks, 25 days, hybrid, 5% bonus
    state.step(Move(ACCEPT))
    o = state.outcome()
    assert [t.role for t in state.turns] == ["recruiter", "candidate", "recruiter"]
    assert o.payoffs == (20 + 25 + 0 + 10 + 10, 40 + 20 + 30 + 10 + 10) == (65.0, 110.0)
    assert o.deal and o.n_turns == 3
    assert state.turns[1].claim == 110.0 and state.turns[0].claim == 125.0
    assert o.shares == pytest.approx((65 / 125, 110 / 140))
    walked = _job_state()
    walked.step(Move(PROPOSE, (0, 0, 0, 0, 0)))
    walked.step(Move(WALK_AWAY))
    assert walked.is_terminal and walked.outcome().payoffs == (50.0, 50.0)  # reservations


def test_job_offer_pareto_frontier_from_the_spec() -> None:
    from scenarios.games.job_offer import all_offers, pareto_frontier, points

    spec = load_scenario("job-offer").spec
    frontier = pareto_frontier(spec)
    scores = [(points(spec, "candidate", o), points(spec, "recruiter", o)) for o in all_offers(spec)]
    for c, r, offer in frontier:  # nothing dominates a frontier offer
        assert not any(c2 >= c and r2 >= r and (c2, r2) != (c, r) for c2, r2 in scores)
    on = {(c, r) for c, r, _ in frontier}
    # every other offer is dominated by one on the frontier
    assert all(any(c2 >= c and r2 >= r for c2, r2 in on) for c, r in scores)
    # the shared and the compatible issues take both sides' favourite on every efficient offer
    # (4 weeks, hybrid), and from the third on the candidate gets the long vacation it values
    # far more than the recruiter: the integrative trade
    assert all(o[1] == 1 and o[3] == 1 for _, _, o in frontier)
    assert all(o[2] == 2 for _, _, o in frontier[2:]) and frontier[0][2][2] == 0


def test_job_offer_reads_text_and_json() -> None:
    state = _job_state()
    request = state.request()
    text = ("Our offer: salary $110k, start date in 2 weeks, 20 days of vacation, the location "
            "remote and a 10% bonus.")
    assert state.read(text, request) == Move(PROPOSE, (2, 0, 1, 2, 2))
    assert state.read("salary $110k and nothing else", request).reason == \
        "no option for start date found in the text"
    rules = load_scenario("job-offer").rules
    move = rules.move_from_json({"move": "propose", "offer": {
        "Salary": "$120k", "start date": "IN 8 WEEKS", "vacation": "15 days",
        "location": "on site", "bonus": "no bonus"}})
    assert move == Move(PROPOSE, (3, 2, 0, 0, 0))
    assert "bonus: '20%' is not one of its options" in rules.move_from_json(
        {"move": "counter", "offer": ["$90k", "in 2 weeks", "15 days", "hybrid", "20%"]})


def test_job_offer_spec_is_checked(tmp_path: Path) -> None:
    text = (ROOT / "scenarios" / "builtin" / "job-offer.toml").read_text()
    path = tmp_path / "j.toml"
    path.write_text(text.replace("candidate = [0, 10, 5]\nrecruiter = [0, 10, 5]",
                                 "candidate = [0, 10, 5]\nrecruiter = [0, 5, 10]"))
    with pytest.raises(InputError, match="issue 'location' is shared, so both sides score it "
                                         "alike"):
        load_scenario_file(path)
    path.write_text(text.replace('"15 days"', '"in 2 weeks"'))
    with pytest.raises(InputError, match="option 'in 2 weeks' is also an option of 'start date'"):
        load_scenario_file(path)


JOB_CONFIG = '''seed = 2
scenario = "job-offer"
condition = "{condition}"

[personas]
pool = "{pool}"

[design]
kind = "round-robin"
levels = 7
per_level = 1
repetitions = 1

{agents}

[execution]
progress = "none"
'''


def test_job_offer_tournament_with_offline_agents(tmp_path: Path, small_pool: Path) -> None:
    config = tmp_path / "job.toml"
    config.write_text(JOB_CONFIG.format(condition="none", pool=small_pool, agents=(
        '[agents.a]\nkind = "concession"\ntactic = "linear"\n\n[agents.b]\nkind = "random"')))
    result = cli("run", str(config), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    db = tmp_path / "out" / "arena.sqlite"
    matches = table(db, "SELECT status, payoff_a, payoff_b, n_turns FROM matches")
    assert len(matches) == 84 and {m[0] for m in matches} == {"ok"}  # both seat orders
    assert all(n <= 10 for *_, n in matches)
    kinds = {k for (k,) in table(db, "SELECT DISTINCT move_kind FROM turns")}
    assert kinds <= {"propose", "counter", "accept", "walk_away"} and "counter" in kinds
    offers = table(db, "SELECT offer FROM turns WHERE move_kind IN ('propose', 'counter')")
    assert all(len(json.loads(o)) == 5 for (o,) in offers)  # an option per issue


def _job_responder(body: dict[str, Any]) -> str:
    """A model that proposes once, then accepts the other side's proposal."""
    from tests.openai_server import message_text

    messages = body["messages"]
    first = message_text(messages[1])
    candidate = "You are the candidate" in first
    replies = sum(1 for m in messages if m["role"] == "assistant")
    last = message_text(messages[-1])
    json_mode = "JSON object" in first
    if replies and ("propose" in last.lower() or "\"counter\"" in last):
        return '{"move": "accept"}' if json_mode else "I accept your offer."
    offer = ({"salary": "$110k", "start date": "in 4 weeks", "vacation": "25 days",
              "location": "hybrid", "bonus": "5% bonus"} if candidate else
             {"salary": "$100k", "start date": "in 4 weeks", "vacation": "15 days",
              "location": "hybrid", "bonus": "no bonus"})
    if json_mode:  # an offer on the table is countered, not proposed
        kind = "counter" if any(m["role"] == "user" for m in messages[2:]) else "propose"
        return json.dumps({"move": kind, "offer": offer, "message": "my proposal"})
    return "I propose " + "; ".join(f"{k}: {v}" for k, v in offer.items()) + "."


@pytest.mark.parametrize("protocol", ["free-text", "json"])
def test_job_offer_with_llm_agents_against_the_loopback(tmp_path: Path, small_pool: Path,
                                                        loopback_factory: Any,
                                                        protocol: str) -> None:
    server = loopback_factory(responder=_job_responder)
    config = tmp_path / "job.toml"
    config.write_text(JOB_CONFIG.format(condition="both-images", pool=small_pool, agents=(
        f'[agents.default]\nkind = "llm"\nmodel = "local"\nprotocol = "{protocol}"\n\n'
        f'[models.local]\nbase_url = "{server.base_url}"\nmodel = "loopback-vlm"\n'
        'retry_base_s = 0.01\nretry_max_s = 0.05')).replace("levels = 7\nper_level = 1",
                                                            "levels = 3\nper_level = 1"))
    env = {"OPENAI_API_KEY": "sk-test", "PERSONA_ARENA_CACHE": str(tmp_path / "cache")}
    result = cli("run", str(config), "--out", str(tmp_path / "out"), env=env)
    assert result.returncode == 0, result.stderr
    db = tmp_path / "out" / "arena.sqlite"
    matches = table(db, "SELECT status, payoff_a, payoff_b, deal, n_turns FROM matches")
    # the recruiter proposes, the candidate counters, the recruiter accepts the counter:
    # recruiter 20+25+0+10+10 = 65, candidate 40+20+30+10+10 = 110
    assert matches and set(matches) == {("ok", 65.0, 110.0, 1, 3)}
    turns = table(db, "SELECT role, move_kind, offer FROM turns WHERE turn_index < 3 "
                      "ORDER BY match_id, turn_index")
    assert turns[:3] == [("recruiter", "propose", "[1, 1, 0, 1, 0]"),
                         ("candidate", "counter", "[2, 1, 2, 1, 1]"),
                         ("recruiter", "accept", None)]
    bodies = chats(server)
    first = bodies[0]["messages"][1]["content"]
    assert sum(1 for part in first if part["type"] == "image_url") == 2  # own and opponent
    text = first[-1]["text"]
    assert "You are the recruiter in a job offer negotiation with the candidate." in text
    assert "- salary: $90k (60 points), $100k (40 points)" in text  # its own, private scores
    assert ("JSON object only" in text) == (protocol == "json")


# -- majority-division ----------------------------------------------------------------------
def _majority(seats: int = 3, **changes: Any):
    from scenarios.loader import parse_scenario
    import tomllib

    data = tomllib.loads((ROOT / "scenarios" / "builtin" / "majority-division.toml").read_text())
    data.update(seats=seats, **changes)
    return parse_scenario(data, "majority.toml")


def test_majority_division_votes_and_payoffs_by_hand() -> None:
    state = _majority(3, discount=0.5).new_state()
    # round 1: a proposes 60/20/20; b votes no, c no -> fails; round 2: b proposes
    for move in [Move(PROPOSE, (60.0, 20.0, 20.0)), Move(REJECT), Move(REJECT),
                 Move(PROPOSE, (0.0, 50.0, 50.0)), Move(ACCEPT), Move(REJECT)]:
        state.step(move)
    assert [(t.side, t.role, t.round) for t in state.turns] == [
        ("a", "proposer", 1), ("b", "voter", 1), ("c", "voter", 1),
        ("b", "proposer", 2), ("c", "voter", 2), ("a", "voter", 2)]
    assert state.is_terminal
    o = state.outcome()
    assert o.payoffs == (0.0, 25.0, 25.0) and o.shares == (0.0, 0.25, 0.25)  # halved once
    assert state.turns[3].claim == 50.0
    bad = _majority(3).new_state()
    bad.step(Move(PROPOSE, (50.0, 50.0, 50.0)))
    assert bad.turns[0].move.kind is MoveKind.INVALID and "add up to 150" in bad.turns[0].move.reason
    assert bad.request().side == "b" and bad.request().role == "proposer"  # the round is void


@pytest.mark.parametrize("seats", range(3, 8))
def test_majority_division_conforms_for_every_seat_count(seats: int) -> None:
    scenario = _majority(seats, proposer="drawn")
    assert check_scenario(scenario) == []
    state = scenario.new_state()
    assert len(state.outcome().payoffs) == seats and state.request().private["quota"] == \
        seats // 2 + 1


def test_majority_division_drawn_proposer_follows_the_seed() -> None:
    scenario = _majority(5, proposer="drawn")
    firsts = {seed: scenario.new_state(seed=seed).request().side for seed in range(20)}
    assert len(set(firsts.values())) > 1  # drawn, not fixed
    assert all(scenario.new_state(seed=s).request().side == side for s, side in firsts.items())


def test_majority_division_reads_shares_and_votes() -> None:
    state = _majority(4).new_state()
    request = state.request()
    assert state.read("I suggest player 1 gets $40, player 2 gets 20, player 3 gets $20 and "
                      "player 4 gets $20.", request) == Move(PROPOSE, (40.0, 20.0, 20.0, 20.0))
    assert state.read("40/20/20/20", request) == Move(PROPOSE, (40.0, 20.0, 20.0, 20.0))
    assert "not 1..4" in state.read("player 1 gets 50 and player 2 gets 50", request).reason
    state.step(Move(PROPOSE, (40.0, 20.0, 20.0, 20.0)))
    assert state.read("Yes, I accept.", state.request()) == Move(ACCEPT)


def test_concession_plays_majority_division_offline() -> None:
    """The game-generic aspiration: a proposal passes once the partners' shares are enough."""
    import asyncio

    from agents.negotiators.concession import ConcessionNegotiator

    scenario = _majority(3)
    state = scenario.new_state()
    agents = {s: ConcessionNegotiator(scenario, "conceder") for s in "abc"}
    while not state.is_terminal:
        request = state.request()
        reply = asyncio.run(agents[request.side].act(request))
        state.step(reply.move, reply.text)
    o = state.outcome()
    assert o.deal and sum(o.payoffs) == 100
    proposal = next(t for t in reversed(state.turns) if t.move.kind is PROPOSE)
    assert proposal.text.startswith("I propose: player 1 gets $")


def test_a_pairing_design_of_a_three_seat_game_is_refused_in_one_line(
        tmp_path: Path, small_pool: Path) -> None:
    """A two-seat design cannot seat a game of three or more; the message says what does."""
    (tmp_path / "m.toml").write_text(
        (ROOT / "scenarios" / "builtin" / "majority-division.toml").read_text())
    config = tmp_path / "run.toml"
    config.write_text(JOB_CONFIG.format(condition="none", pool=small_pool,
                                        agents='[agents.default]\nkind = "random"')
                      .replace('"job-offer"', '"m.toml"'))
    result = cli("run", str(config), "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    assert ("field 'design.kind': majority-division (majority-division) takes 3..7 seats, the "
            "round-robin design seats 2; set design.seats = 3") in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    config.write_text(config.read_text().replace("per_level = 1", "per_level = 1\nseats = 3"))
    result = cli("run", str(config), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr  # a round-robin over groups of three plays it


def test_the_example_tournament_runs_as_the_readme_says(tmp_path: Path,
                                                        small_pool: Path) -> None:
    """The plugin's module beside its scenario file is found in this process and in worker
    processes alike, and both give the same tables."""
    import shutil

    folder = tmp_path / "game-plugin"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__", "pool"))
    (folder / "pool").symlink_to(small_pool)
    tables = []
    for workers in (0, 2):
        config = folder / f"tournament-{workers}.toml"
        config.write_text((folder / "tournament.toml").read_text()
                          + f'\n[execution]\nworkers = {workers}\nprogress = "none"\n')
        out = tmp_path / f"out-{workers}"
        result = cli("run", str(config), "--out", str(out), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        db = out / "arena.sqlite"
        matches = table(db, "SELECT scenario, status, payoff_a + payoff_b <= 300, n_turns "
                            "FROM matches")
        assert len(matches) == 14 * 13 * 2 and set(matches) == {("nash-demand", "ok", 1, 6)}
        tables.append(table(db, "SELECT match_id, payoff_a, payoff_b FROM matches ORDER BY 1"))
    assert tables[0] == tables[1]


def test_a_person_plays_job_offer_with_the_games_own_hints_and_words(tmp_path: Path,
                                                                     small_pool: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "play.toml"
    config.write_text(f'seed = 2\nscenario = "job-offer"\ncondition = "none"\n'
                      f'[agents.default]\nkind = "concession"\n[personas]\npool = "{small_pool}"\n')
    lines = "hello\nsalary $120k, start in 4 weeks, 25 days vacation, hybrid, 10% bonus\n" \
            + "accept\n" * 5
    result = subprocess.run([sys.executable, "-m", "arena.cli", "play", "--config", str(config),
                             "--side", "b", "--out", str(tmp_path / "run")], input=lines,
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "- salary: $90k (0 points), $100k (20 points)" in out  # the candidate's own scores
    assert ('Could not use that: no option for salary found in the text. Try again (one option '
            'per issue, e.g. "salary $110k, start in 4 weeks, ..."') in out
    assert ("Read as: you counter with: salary: $120k; start date: in 4 weeks; vacation: 25 "
            "days; location: hybrid; bonus: 10% bonus.") in out
    assert "Read as: you accept their offer (salary: $" in out
    assert table(tmp_path / "run" / "arena.sqlite",
                 "SELECT status, deal FROM matches") == [("ok", 1)]


def test_seat_variants_of_prompts_for_every_seat_of_a_seven_seat_game() -> None:
    scenario = _majority(7, prompts={"instructions": "You are player {seat_number}.",
                                     "instructions_seventh": "Last seat, of {seats}: {others}."})
    assert check_scenario(scenario) == []
    with pytest.raises(InputError, match=r"field 'prompts.instructions_seventh': unknown "
                                         r"placeholder \{mood\}"):
        _majority(7, prompts={"instructions_seventh": "Last seat: {quota} {mood}."})
