"""`persona-arena serve CONFIG --out RUN_DIR --port N`: participants rate avatars and negotiate
against the config's persona agent in a browser.

The web layer only (Starlette on uvicorn, pages rendered on the server so they work without
JavaScript): the study itself, and what is stored when, is arena/study. Every page after the
consent page belongs to the participant whose cookie holds the secret token; no URL names a
participant. Forms are small and bounded; input that cannot be used is shown back with its
reason (status 422), never as a server error. Binds 127.0.0.1 unless told otherwise.
"""
from __future__ import annotations

import contextlib
import mimetypes
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from scenarios.errors import InputError

COOKIE = "persona_arena_participant"
MAX_FORM_BYTES = 8192
WEB_DIR = Path(__file__).resolve().parent / "web"
PORTS = (1, 65535)
# RunConfig.shows_opponent: whether the opponent is shown the person's persona; only then does
# the page show the person how they appear


def _require_web() -> None:
    missing = []
    for module in ("starlette", "uvicorn", "jinja2"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise InputError(f"serve needs {', '.join(missing)}: pip install "
                         "'persona-arena[serve]'")


def build_app(study: Any) -> Any:
    """The ASGI app of a study (arena.study.Study)."""
    import jinja2
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
    from starlette.routing import Route

    from agents.negotiators.human import hint, legal_words, money, speaker
    from scenarios.moves import SIDES
    from arena.study import DEFAULT_CONSENT, DEFAULT_INSTRUCTIONS, SCALE, StudyFull, private_lines

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(WEB_DIR),
                             autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.StrictUndefined)
    env.filters["money"] = lambda value: money(study.scenario, float(value))
    serve = study.config.serve
    site = {"title": serve.title, "scenario": study.scenario}

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(site=site, **context)
        return HTMLResponse(html, status_code=status,
                            headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})

    def paragraphs(text: str) -> list[str]:
        return [p.strip() for p in text.split("\n\n") if p.strip()]

    async def form(request: Request) -> dict[str, str] | None:
        """The urlencoded form of a POST, first value of each field; None when too large."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
            return None
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return None
        try:
            fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            return {}
        return {k: v[0] for k, v in fields.items()}

    def who(request: Request) -> Any:
        return study.participant(request.cookies.get(COOKIE))

    def to(path: str) -> RedirectResponse:
        return RedirectResponse(path, status_code=303)

    def too_large() -> HTMLResponse:
        return page("message.html", 413, heading="Too much text",
                    text=f"A form may hold at most {MAX_FORM_BYTES:,} bytes.", link="/")

    def stage(person: Any) -> str:
        if study.next_to_rate(person) is not None:
            return "/rate"
        if study.matches_left(person) > 0:
            return "/play"
        return "/done"

    async def welcome(request: Request) -> Response:
        person = who(request)
        if person is not None:
            return to(stage(person))
        return page("welcome.html", instructions=paragraphs(serve.instructions
                                                            or DEFAULT_INSTRUCTIONS),
                    consent=paragraphs(serve.consent or DEFAULT_CONSENT), error=None)

    async def start(request: Request) -> Response:
        fields = await form(request)
        if fields is None:
            return too_large()
        person = who(request)
        if person is not None:
            return to(stage(person))
        if fields.get("consent") != "yes":
            return page("welcome.html", 422, instructions=paragraphs(
                serve.instructions or DEFAULT_INSTRUCTIONS),
                consent=paragraphs(serve.consent or DEFAULT_CONSENT),
                error="Please tick the box to agree before you start.")
        try:
            person, token = study.join()
        except StudyFull:
            return page("message.html", 503, heading="This study is full",
                        text="Thank you for your interest; no more places are open.", link=None)
        response = to(stage(person))
        response.set_cookie(COOKIE, token, max_age=30 * 24 * 3600, httponly=True,
                            samesite="strict", path="/")
        return response

    async def rate_page(request: Request, error: str | None = None, status: int = 200) -> Response:
        person = who(request)
        if person is None:
            return to("/")
        nxt = study.next_to_rate(person)
        if nxt is None:
            return to(stage(person))
        persona_id, position, total = nxt
        return page("rate.html", status, persona_id=persona_id, position=position, total=total,
                    question=study.question, scale=list(range(SCALE[0], SCALE[1] + 1)),
                    error=error)

    async def rate(request: Request) -> Response:
        fields = await form(request)
        if fields is None:
            return too_large()
        person = who(request)
        if person is None:
            return to("/")
        async with study.lock_for(person):
            why = study.rate(person, fields.get("persona_id", ""), fields.get("score", ""))
        if why is not None:
            return await rate_page(request, f"Could not use that: {why}.", 422)
        return to("/rate")

    def transcript(live: Any) -> list[dict[str, Any]]:
        read_as = study.moves_read_as(live.match_id)
        n = len(live.personas) or 2
        return [{"you": t.side == live.side, "who": "You" if t.side == live.side else
                 speaker(t.side, n), "role": t.role, "round": t.round, "text": t.text,
                 "read_as": read_as.get(t.index) if t.side == live.side else None}
                for t in live.human.history]

    def others(side: str, personas: tuple[str, ...]) -> list[tuple[str, Any]]:
        """(caption, persona) of every other seat: "Your opponent" in two seats, else each
        player by number."""
        if len(personas) <= 2:
            return [("Your opponent", study.personas[p]) for s, p in zip("ab", personas)
                    if s != side]
        return [(f"Player {i + 1}", study.personas[p]) for i, p in enumerate(personas)
                if SIDES[i] != side]

    async def play_page(request: Request, error: str | None = None, status: int = 200,
                        typed: str = "") -> Response:
        person = who(request)
        if person is None:
            return to("/")
        if study.next_to_rate(person) is not None:
            return to("/rate")
        live = await study.current(person)
        if live is None:
            return to("/done")
        if live.row is not None:
            return to(f"/result/{live.number}")
        ask = live.human.request
        sees_you = study.config.shows_opponent
        last = None
        moves = study.moves_read_as(live.match_id)
        if moves and error is None:
            last = moves[max(moves)]
        return page("play.html", status, live=live, ask=ask, error=error, typed=typed,
                    others=others(live.side, live.personas), many=len(live.personas) > 2,
                    seat_number=SIDES.index(live.side) + 1,
                    you=study.personas[live.human_id] if sees_you else None,
                    transcript=transcript(live), last=last, broken=live.error,
                    hint=hint(study.scenario, ask) if ask else "",
                    legal=legal_words(ask) if ask else "",
                    buttons=_buttons(ask) if ask else [],
                    private=private_lines(study.scenario, ask) if ask else [],
                    total=serve.matches)

    async def read(request: Request) -> Response:
        """Step one of a move: read the text and echo it back for the person to confirm."""
        fields = await form(request)
        if fields is None:
            return too_large()
        person = who(request)
        if person is None:
            return to("/")
        live = await study.current(person)
        if live is None or live.row is not None:
            return to(stage(person))
        text = fields.get("text", "")
        why, read_as = study.check_move(live, text, fields.get("turn", ""))
        if why is not None:
            return await play_page(request, f"Could not use that: {why}.", 422, typed=text)
        return page("confirm.html", live=live, text=text.strip(), read_as=read_as,
                    turn=fields.get("turn", ""), opponent=study.personas[live.opponent_id])

    async def send(request: Request) -> Response:
        """Step two: store the move, play it, and show the match as it now stands."""
        fields = await form(request)
        if fields is None:
            return too_large()
        person = who(request)
        if person is None:
            return to("/")
        async with study.lock_for(person):
            live = await study.current(person)
            if live is None or live.row is not None:
                return to(stage(person))
            why = await study.send(live, fields.get("text", ""), fields.get("turn", ""))
        if why is not None:
            return await play_page(request, f"Could not use that: {why}.", 422,
                                   typed=fields.get("text", ""))
        if live.row is not None:
            return to(f"/result/{live.number}")
        return to("/play")

    async def result(request: Request) -> Response:
        person = who(request)
        if person is None:
            return to("/")
        number = request.path_params["number"]
        found = study.result(person, f"serve-{person.participant_id}-{number}")
        if found is None:
            return page("message.html", 404, heading="No such match",
                        text="This match is not one of yours, or it is not finished.",
                        link="/play")
        personas = study.seat_personas(found["match_id"]) or _pair_of(study, found)
        return page("result.html", result=found, more=study.matches_left(person) > 0,
                    others=others(found["side"], personas))

    async def done(request: Request) -> Response:
        person = who(request)
        if person is None:
            return to("/")
        if stage(person) != "/done":
            return to(stage(person))
        study.finish(person)
        return page("done.html", participant=person.participant_id,
                    rated=len(study.rated(person)),
                    played=len(study.finished_matches(person)))

    async def avatar(request: Request) -> Response:
        persona = study.personas.get(request.path_params["persona_id"])
        if persona is None or persona.image is None:
            return Response("no such avatar", status_code=404, media_type="text/plain")
        kind = mimetypes.guess_type(str(persona.image))[0] or "application/octet-stream"
        return FileResponse(persona.image, media_type=kind,
                            headers={"Cache-Control": "private, max-age=3600"})

    async def style(request: Request) -> Response:
        return FileResponse(WEB_DIR / "style.css", media_type="text/css")

    async def not_found(request: Request, exc: Exception) -> Response:
        return page("message.html", 404, heading="Not found", text="There is no such page.",
                    link="/")

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return page("message.html", 405, heading="Not here",
                    text="This page cannot be used that way.", link="/")

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        await study.aclose()

    routes = [Route("/", welcome), Route("/start", start, methods=["POST"]),
              Route("/rate", rate_page, methods=["GET"]), Route("/rate", rate, methods=["POST"]),
              Route("/play", play_page, methods=["GET"]),
              Route("/play/read", read, methods=["POST"]),
              Route("/play/send", send, methods=["POST"]),
              Route("/result/{number:int}", result), Route("/done", done),
              Route("/avatar/{persona_id}", avatar), Route("/style.css", style)]
    return Starlette(routes=routes, lifespan=lifespan,
                     exception_handlers={404: not_found, 405: method_not_allowed})


def _buttons(request: Any) -> list[tuple[str, str]]:
    """One-click answers for the moves that need no offer: (label, text the game reads)."""
    from scenarios.moves import ACCEPT, REJECT, WALK_AWAY

    found = []
    for kind, label, text in ((ACCEPT, "Accept", "I accept"), (REJECT, "Reject", "I reject"),
                              (WALK_AWAY, "Walk away", "I walk away")):
        if kind in request.legal:
            found.append((label, text))
    return found


def _pair_of(study: Any, found: dict[str, Any]) -> tuple[str, ...]:
    """The personas of a two-seat match stored before seats were (seat order)."""
    from arena.human_seats import pair

    human, opponent = study.store.conn.execute(
        "SELECT persona_human, persona_opponent FROM participant_matches WHERE match_id = ?",
        (found["match_id"],)).fetchone()
    return pair(found["side"], human, opponent)


def listen(host: str, port: int) -> socket.socket:
    """Bind before anything is served, so a taken port is one line, not a traceback."""
    if not PORTS[0] <= port <= PORTS[1]:
        raise InputError(f"--port must be {PORTS[0]}..{PORTS[1]} (got {port})")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise InputError(f"--host {host!r}: not an address to listen on ({error})") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as error:
        sock.close()
        raise InputError(f"--port {port}: cannot listen on {host}:{port} "
                         f"({error.strerror})") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(config_path: Path, run_dir: Path, port: int = 8000, host: str = "127.0.0.1",
          announce: Callable[[str], None] = print) -> int:
    """Check everything, open RUN_DIR, and serve until Ctrl-C (or SIGTERM)."""
    _require_web()
    import uvicorn

    from arena.study import open_study

    if not PORTS[0] <= port <= PORTS[1]:
        raise InputError(f"--port must be {PORTS[0]}..{PORTS[1]} (got {port})")
    study = open_study(config_path, run_dir)
    try:
        sock = listen(host, port)
        app = build_app(study)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                               timeout_graceful_shutdown=5))
        shown = f"[{host}]" if ":" in host else host
        announce(f"serving {study.scenario.name} against {study.opponent_label} at "
                 f"http://{shown}:{port}/ ; answers go to {run_dir} (Ctrl-C to stop)")
        sys.stdout.flush()
        server.run(sockets=[sock])
    finally:
        study.close()
    return 0

