"""A study with people: each participant consents, rates avatars, then plays matches.

No HTTP here (arena/serve is the web layer): this module keeps the participants' progress in
the run store and drives their matches with the tournament's own engine (`play_match`, the
config's opponent from the AgentFactory), so a person's match is stored exactly as `run`
stores one. Every answer is committed when it is given: a rating at once, a move before the
match sees it, a finished match in one transaction. A match in progress lives in a task of
the server's event loop; after a restart it is rebuilt from its seed and replayed with the
stored moves (offline opponents are seeded; an LLM opponent answers again from the reply
cache), so the person finds it where they left it.

Participants are known only by a random token in their cookie (its sha256 is stored) and an
anonymous id; no request names a participant, so nobody can see or change another's data.
"""
from __future__ import annotations

import asyncio
import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.negotiators.human import WebHuman, describe_move, read_input, speaker
from agents.personas.persona import Persona
from arena.config import AgentConfig, RunConfig, load_config
from arena.factory import AgentFactory
from arena.human_seats import (MACHINE_TEAM, check_side, draw_personas, first_other,
                               for_people, pair, seat_match)
from arena.match import play_match
from arena.seeds import derive_seed, rng_for
from arena.store import MatchRow, Store
from arena.run_plan import scenario_and_personas
from scenarios.errors import InputError
from scenarios.loader import Scenario, load_scenario
from scenarios.moves import SIDES, MoveKind, MoveRequest

RATER_PREFIX = "human:"
SCALE = (1, 7)  # the paper's rating scale
OPPONENT_WAIT_S = 20.0  # how long a request waits for the opponent before the page polls
DEFAULT_INSTRUCTIONS = (
    "In this study you first rate how aggressive some cartoon characters look, then you "
    "negotiate with a character played by the computer.\n\n"
    "There are no right or wrong answers. Your answers are stored under an anonymous "
    "participant id; you are not asked for your name or any contact details.")
DEFAULT_CONSENT = (
    "I am at least 18 years old and take part voluntarily. I agree that my anonymous answers "
    "are stored and used for research. I may stop at any time by closing this page.")
PAPER_NOTE = "Please answer with numbers only."  # meant for models, not for people


@dataclass
class Participant:
    participant_id: str
    consented_at: float | None
    finished_at: float | None


@dataclass
class LiveMatch:
    """A match of one participant: playing in a task, or finished (`row`)."""

    match_id: str
    number: int
    side: str
    human_id: str
    opponent_id: str
    human: WebHuman
    personas: tuple[str, ...] = ()  # every seat's, in seat order (the person's included)
    task: asyncio.Task[None] | None = None
    row: MatchRow | None = None
    error: str | None = None


@dataclass
class Study:
    config: RunConfig
    base: Path
    scenario: Scenario
    personas: dict[str, Persona]
    factory: AgentFactory
    opponent: AgentConfig
    opponent_label: str
    store: Store
    lock: Any
    question: str
    side: str  # the person's seat: "a", "b", ... or "random" (drawn per match)
    llm: Any = None
    live: dict[str, LiveMatch] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    # -- participants -------------------------------------------------------------------
    def join(self) -> tuple[Participant, str]:
        """A new participant who has consented; (participant, secret token for the cookie)."""
        if self.count_participants() >= self.config.serve.max_participants:
            raise StudyFull()
        now = time.time()
        for _ in range(8):
            pid = "P" + secrets.token_hex(4).upper()
            token = secrets.token_urlsafe(32)
            try:
                with self.store._transaction():
                    self.store.conn.execute(
                        "INSERT INTO participants(participant_id, token_sha256, created_at, "
                        "consented_at) VALUES (?, ?, ?, ?)", (pid, _sha(token), now, now))
            except sqlite3.IntegrityError:  # an id already taken: draw again
                continue
            return Participant(pid, now, None), token
        raise RuntimeError("could not draw a free participant id")

    def participant(self, token: str | None) -> Participant | None:
        if not token or len(token) > 200:
            return None
        row = self.store.conn.execute(
            "SELECT participant_id, consented_at, finished_at FROM participants "
            "WHERE token_sha256 = ?", (_sha(token),)).fetchone()
        return Participant(*row) if row else None

    def count_participants(self) -> int:
        return self.store.conn.execute("SELECT COUNT(*) FROM participants").fetchone()[0]

    def finish(self, who: Participant) -> None:
        if who.finished_at is None:
            with self.store._transaction():
                self.store.conn.execute(
                    "UPDATE participants SET finished_at = ? WHERE participant_id = ?",
                    (time.time(), who.participant_id))

    def lock_for(self, who: Participant) -> asyncio.Lock:
        return self.locks.setdefault(who.participant_id, asyncio.Lock())

    # -- rating -------------------------------------------------------------------------
    def to_rate(self, who: Participant) -> list[str]:
        """The avatars this participant rates, in order (drawn from the run seed and the id)."""
        ids = sorted(p for p, persona in self.personas.items() if persona.image is not None)
        n = min(self.config.serve.rate, len(ids))
        return rng_for(self.config.seed, "serve-rate", who.participant_id).sample(ids, n)

    def rated(self, who: Participant) -> dict[str, float]:
        return self.store.ratings(RATER_PREFIX + who.participant_id)

    def next_to_rate(self, who: Participant) -> tuple[str, int, int] | None:
        """(persona id, its position from 1, how many) of the next avatar to rate, or None."""
        todo, done = self.to_rate(who), self.rated(who)
        for i, pid in enumerate(todo):
            if pid not in done:
                return pid, i + 1, len(todo)
        return None

    def rate(self, who: Participant, persona_id: str, score: str) -> str | None:
        """Store one rating at once; the reason when it cannot be used."""
        if persona_id not in self.to_rate(who):
            return "that avatar is not one of yours to rate"
        low, high = SCALE
        if not score.strip().isdigit() or not low <= int(score) <= high:
            return f"choose a whole number from {low} to {high}"
        self.store.write_rating(persona_id, RATER_PREFIX + who.participant_id,
                                float(int(score)), score.strip(), model="person",
                                prompt_sha256=hashlib.sha256(self.question.encode()).hexdigest())
        return None

    # -- matches ------------------------------------------------------------------------
    def finished_matches(self, who: Participant) -> list[str]:
        rows = self.store.conn.execute(
            "SELECT p.match_id FROM participant_matches p JOIN matches m USING (match_id) "
            "WHERE p.participant_id = ? ORDER BY p.number", (who.participant_id,))
        return [r[0] for r in rows]

    def matches_left(self, who: Participant) -> int:
        return self.config.serve.matches - len(self.finished_matches(who))

    async def current(self, who: Participant) -> LiveMatch | None:
        """The participant's match in progress (started, or resumed after a restart), or None
        when every match is played. Waits a while for the opponent to move."""
        number = len(self.finished_matches(who)) + 1
        if number > self.config.serve.matches:
            return None
        match_id = f"serve-{who.participant_id}-{number}"
        live = self.live.get(match_id)
        if live is None:
            live = self._start(who, number, match_id)
            await self.wait(live)
        return live

    def _start(self, who: Participant, number: int, match_id: str) -> LiveMatch:
        known = self.store.conn.execute(
            "SELECT side, persona_human, persona_opponent FROM participant_matches "
            "WHERE match_id = ?", (match_id,)).fetchone()
        seed = derive_seed(self.config.seed, "serve", who.participant_id, number)
        if known is None:
            side, personas = self._draw(who, number)
            human_id = personas[SIDES.index(side)]
            opponent_id = personas[SIDES.index(first_other(side, len(personas)))]
            with self.store._transaction():
                self.store.conn.execute(
                    "INSERT INTO participant_matches(match_id, participant_id, number, side, "
                    "persona_human, persona_opponent, seed, started_at) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?)", (match_id, who.participant_id, number, side,
                                                 human_id, opponent_id, seed, time.time()))
                self.store.conn.executemany(
                    "INSERT INTO participant_seats(match_id, seat, persona_id) VALUES (?, ?, ?)",
                    [(match_id, s, p) for s, p in zip(SIDES, personas)])
        else:
            side, human_id, opponent_id = known
            personas = self.seat_personas(match_id) or pair(side, human_id, opponent_id)
        replay = [text for (text,) in self.store.conn.execute(
            "SELECT text FROM participant_moves WHERE match_id = ? ORDER BY turn_index",
            (match_id,))]
        human = WebHuman(self.scenario, side, replay)
        live = LiveMatch(match_id, number, side, human_id, opponent_id, human, personas)
        spec, negotiators, labels = seat_match(
            self.factory, match_id, "serve", number, side, personas, seed, human,
            {p: self.personas[p].level for p in personas}, self.opponent_label)

        async def play() -> None:
            row = await play_match(spec, self.scenario, negotiators, self.config.condition,
                                   labels)
            self.store.write_match(row)  # one transaction with all its turns
            live.row = row
            live.human.changed.set()

        live.task = asyncio.get_running_loop().create_task(play())
        live.task.add_done_callback(lambda task: self._ended(live, task))
        self.live[match_id] = live
        return live

    def seat_personas(self, match_id: str) -> tuple[str, ...]:
        """Every seat's persona of a participant's match, in seat order (empty for a match
        started before seats were stored: two seats, known from participant_matches)."""
        return tuple(p for (p,) in self.store.conn.execute(
            "SELECT persona_id FROM participant_seats WHERE match_id = ? ORDER BY seat",
            (match_id,)))

    def _ended(self, live: LiveMatch, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:  # a bug or a full disk
            live.error = f"{type(task.exception()).__name__}: {task.exception()}"
            live.human.changed.set()

    def _draw(self, who: Participant, number: int) -> tuple[str, tuple[str, ...]]:
        """The seat and every seat's persona of a participant's match, drawn from the run
        seed (two seats: the opponent's first, then the person's, as before N seats)."""
        rng = rng_for(self.config.seed, "serve-match", who.participant_id, number)
        seats = self.scenario.seats
        side = self.side
        if side == "random":
            side = rng.choice(SIDES[:seats])
        return side, draw_personas(rng, list(self.personas), seats, side)

    async def wait(self, live: LiveMatch, timeout: float = OPPONENT_WAIT_S) -> None:
        """Until the person is asked for a move or the match ends (or `timeout` passes)."""
        if live.human.request is not None or live.row is not None or live.error:
            return
        try:
            await asyncio.wait_for(live.human.changed.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    def check_move(self, live: LiveMatch, text: str, turn: str) -> tuple[str | None, str]:
        """(reason it cannot be sent or None, the move in the person's words)."""
        request = live.human.request
        if request is None:
            return "it is not your turn", ""
        if turn != str(request.turn_index):
            return "this page was out of date; here is the match as it stands", ""
        move = read_input(self.scenario, text, request)
        if move.kind is MoveKind.INVALID:
            return move.reason, ""
        return None, describe_move(self.scenario, move, request)

    async def send(self, live: LiveMatch, text: str, turn: str) -> str | None:
        """Store the person's move, hand it to the match and wait for the opponent; the reason
        when it cannot be used."""
        why, read_as = self.check_move(live, text, turn)
        if why is not None:
            return why
        request = live.human.request
        assert request is not None
        with self.store._transaction():  # stored before the match sees it
            self.store.conn.execute(
                "INSERT OR REPLACE INTO participant_moves(match_id, turn_index, text, read_as, "
                "sent_at) VALUES (?, ?, ?, ?, ?)",
                (live.match_id, request.turn_index, text.strip(), read_as, time.time()))
        live.human.answer(text.strip())
        await asyncio.sleep(0)  # let the match take the move before waiting on it
        await self.wait(live)
        return None

    def moves_read_as(self, match_id: str) -> dict[int, str]:
        return {i: r for i, r in self.store.conn.execute(
            "SELECT turn_index, read_as FROM participant_moves WHERE match_id = ?", (match_id,))}

    def result(self, who: Participant, match_id: str) -> dict[str, Any] | None:
        """A finished match of this participant's, as its page shows it."""
        row = self.store.conn.execute(
            "SELECT p.side, p.number, m.status, m.agreements, m.error "
            "FROM participant_matches p JOIN matches m USING (match_id) "
            "WHERE p.match_id = ? AND p.participant_id = ?",
            (match_id, who.participant_id)).fetchone()
        if row is None:
            return None
        side, number, status, agreements, error = row
        pays = dict(self.store.conn.execute(
            "SELECT seat, payoff FROM seats WHERE match_id = ?", (match_id,)).fetchall())
        n = len(pays)
        turns = [(*t, speaker(t[2], n)) for t in self.store.conn.execute(
            "SELECT turn_index, round, speaker, role, text, move_kind FROM turns "
            "WHERE match_id = ? ORDER BY turn_index", (match_id,)).fetchall()]
        others = [(speaker(s, n), pays[s]) for s in SIDES[:n] if s != side]
        return {"match_id": match_id, "number": number, "side": side, "status": status,
                "you": pays.get(side), "them": others[0][1] if others else None,
                "others": others, "seats": n, "agreements": agreements, "error": error,
                "turns": turns}

    async def aclose(self) -> None:
        """Stop the matches in progress (their moves are stored) and close the model clients."""
        loop = asyncio.get_running_loop()
        tasks = []
        for match_id, live in list(self.live.items()):
            if live.task is not None and live.task.get_loop() is loop:
                del self.live[match_id]  # rebuilt from the store if asked for again
                if not live.task.done():
                    live.task.cancel()
                    tasks.append(live.task)
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.llm is not None:
            await self.llm.aclose()

    def close(self) -> None:
        if self.llm is not None:
            self.llm.close()
        self.store.close()
        self.lock.close()


class StudyFull(Exception):
    """No more participants: [serve] max_participants is reached."""


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def rating_question(config: RunConfig, scenario: Scenario) -> str:
    """[serve] question, else the paper's rating prompt (the config's or the scenario's
    `rating` prompt), without the line meant for models."""
    if config.serve.question:
        return config.serve.question.strip()
    text = (config.prompts.get("rating") or scenario.prompts.get("rating")
            or load_scenario("ultimatum-4").prompts["rating"])
    return text.replace(PAPER_NOTE, "").strip()


def open_study(config_path: Path, run_dir: Path, check_models: bool = True) -> Study:
    """Check the config (one line naming the culprit when it is bad) and open RUN_DIR."""
    from arena.human_runs import open_human_run
    from arena.play import _machine_agent

    config, base = load_config(config_path)
    serve = config.serve
    if serve.rate == 0 and serve.matches == 0:
        raise InputError(f"{config_path}: serve.rate and serve.matches are both 0; "
                         "participants would have nothing to do")
    seats = load_scenario(config.scenario, base).seats
    # an [agents.X] table of kind "human" (X a seat letter) names the person's seat
    human_side = next((t for t in SIDES[:seats] if t in config.agents
                       and config.agents[t].kind == "human"), None)
    if serve.side != "random":
        check_side(serve.side, seats, f"{config_path}: field 'serve.side':")
    machine_side = ("b" if human_side != "b" else "a") if seats == 2 else \
        first_other(human_side or ("a" if serve.side == "random" else serve.side), seats)
    agent = _machine_agent(config, machine_side)
    config = for_people(config.model_copy(update={"agents": {MACHINE_TEAM: agent}}), seats)
    scenario, pool, by_id = scenario_and_personas(config, base)
    if len(by_id) < 1:
        raise InputError(f"personas.pool: {pool} holds no personas")
    if serve.rate and not any(p.image is not None for p in by_id.values()):
        raise InputError(f"personas.pool: no persona of {pool} has an image to rate")
    llm = None
    if agent.kind == "llm":
        from arena.llm_context import build_llm_context

        llm = build_llm_context(config, base, scenario, by_id, check=check_models)
    try:
        factory = AgentFactory(config, scenario, by_id, llm)
        label = factory.label("default")
        store, lock = open_human_run(config, base, scenario, by_id, factory, label, run_dir)
    except BaseException:
        if llm is not None:
            llm.close()
        raise
    return Study(config, base, scenario, by_id, factory, agent, label, store, lock,
                 rating_question(config, scenario), human_side or serve.side, llm)


def private_lines(scenario: Scenario, request: MoveRequest) -> list[str]:
    """What the scenario tells only this person (a reservation price, item values), as the
    game words it."""
    return scenario.rules.private_lines(request)
