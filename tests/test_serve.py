"""`persona-arena serve`: participants rate avatars and negotiate in a browser.

HTTP-level tests drive the app with Starlette's TestClient (the real routes, store and engine;
no patched parts); CLI tests run `serve` as a user would; one test drives the whole study in
Debian's headless Chromium through selenium, killing and restarting the server mid-session.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="serve needs the serve extra (starlette)")
pytest.importorskip("httpx", reason="the TestClient needs httpx")
from starlette.testclient import TestClient  # noqa: E402

from arena.serve import COOKIE, MAX_FORM_BYTES, build_app  # noqa: E402
from arena.study import open_study  # noqa: E402
from scenarios.errors import InputError  # noqa: E402
from tests.helpers import ROOT, cli, table  # noqa: E402


def write_config(tmp: Path, pool: Path, extra: str = "", serve: str = "rate = 2\nmatches = 1",
                 agent: str = 'kind = "surrogate"') -> Path:
    path = tmp / "study.toml"
    path.write_text(f'''seed = 5
scenario = "ultimatum-4"
condition = "both-images"
{extra}
[personas]
pool = "{pool}"
[agents.default]
{agent}
[serve]
title = "Avatar study"
{serve}
''')
    return path


@pytest.fixture
def study_config(tmp_path: Path, small_pool: Path) -> Path:
    return write_config(tmp_path, small_pool)


@contextlib.contextmanager
def client_for(config: Path, run_dir: Path, token: str | None = None) -> Iterator[TestClient]:
    """A study's app with its lifespan running; the study (store, folder lock) closed after."""
    study = open_study(config, run_dir)
    try:
        with TestClient(build_app(study), follow_redirects=True) as client:
            if token:
                client.cookies.set(COOKIE, token)
            yield client
    finally:
        study.close()


def field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no field {name} in the page"
    return found.group(1)


def join(client: TestClient) -> str:
    page = client.post("/start", data={"consent": "yes"})
    assert page.status_code == 200 and "Rating 1 of 2" in page.text
    return page.text


def rate_all(client: TestClient, html: str, scores: tuple[int, ...] = (3, 6)) -> tuple[
        list[str], str]:
    rated = []
    for score in scores:
        persona = field(html, "persona_id")
        page = client.post("/rate", data={"persona_id": persona, "score": str(score)})
        assert page.status_code == 200
        rated.append(persona)
        html = page.text
    return rated, html


def move(client: TestClient, html: str, text: str) -> str:
    """Check a move (the echo page), then send it; the page after."""
    turn = field(html, "turn")
    echo = client.post("/play/read", data={"turn": turn, "text": text})
    assert echo.status_code == 200, echo.text
    assert 'id="echo"' in echo.text
    sent = client.post("/play/send", data={"turn": turn, "text": text})
    assert sent.status_code == 200
    return sent.text


def test_whole_study_over_http_stores_ratings_and_the_match(study_config: Path,
                                                            tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with client_for(study_config, run_dir) as client:
        welcome = client.get("/")
        assert welcome.status_code == 200
        assert "Avatar study" in welcome.text and "I have read this and agree" in welcome.text
        refused = client.post("/start", data={})  # no consent: no participant
        assert refused.status_code == 422 and "tick the box" in refused.text
        assert COOKIE not in client.cookies
        html = join(client)
        assert "Rate how aggressive the character looks from 1 to 7" in html
        assert "numbers only" not in html  # the line for models is not shown to people
        bad = client.post("/rate", data={"persona_id": field(html, "persona_id"), "score": "9"})
        assert bad.status_code == 422 and "choose a whole number from 1 to 7" in bad.text
        rated, html = rate_all(client, html)
        assert "Your turn: you are the proposer" in html and "Your opponent" in html
        assert "A cartoon character" in html  # the opponent's description
        avatar = re.search(r'src="(/avatar/\w+)"', html).group(1)
        image = client.get(avatar)
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert image.content[:8] == b"\x89PNG\r\n\x1a\n"

        echo = client.post("/play/read", data={"turn": field(html, "turn"), "text": "90/10"})
        assert "This is read as: <strong>you claim $90: $90 for you, $10 for them</strong>" in echo.text
        assert field(echo.text, "text") == "90/10"  # what Send will send
        html = move(client, html, "90/10")
        assert "read as: you claim $90: $90 for you, $10 for them" in html
        assert "Sent: you claim $90" in html
        assert "Your turn: you are the responder" in html
        html = move(client, html, "I accept")
        html = move(client, html, "60")
        result = move(client, html, "no")
        assert "The match is over" in result and "You got <strong>$" in result
        assert 'id="continue" href="/done"' in result
        done = client.get("/done")
        pid = re.search(r'id="participant-id">(\w+)<', done.text).group(1)
        assert "You rated 2 characters and played 1 match" in done.text

    db = run_dir / "arena.sqlite"
    ratings = table(db, f"SELECT persona_id, score, raw FROM ratings WHERE rater = 'human:{pid}' "
                        "ORDER BY persona_id")
    assert sorted(ratings) == sorted(zip(rated, (3.0, 6.0), ("3", "6")))
    assert table(db, "SELECT COUNT(*) FROM ratings WHERE rater = 'design'")[0][0] == 14  # models'
    matches = table(db, "SELECT match_id, design, agent_a, agent_b, status, n_turns, payoff_a "
                        "FROM matches")
    assert len(matches) == 1
    match_id, design, agent_a, agent_b, status, n_turns, payoff_a = matches[0]
    assert (match_id, design, agent_a, agent_b, status) == (
        f"serve-{pid}-1", "serve", "human", "surrogate:gpt-4o", "ok")
    turns = table(db, "SELECT speaker, move_kind, claim, text FROM turns ORDER BY turn_index")
    assert len(turns) == n_turns == 8
    mine = [t for t in turns if t[0] == "a"]
    assert mine == [("a", "propose", 90.0, "90/10"), ("a", "accept", None, "I accept"),
                    ("a", "propose", 60.0, "60"), ("a", "reject", None, "no")]
    moves = table(db, "SELECT turn_index, text, read_as FROM participant_moves ORDER BY turn_index")
    assert [m[1] for m in moves] == ["90/10", "I accept", "60", "no"]
    assert moves[0][2] == "you claim $90: $90 for you, $10 for them"
    assert table(db, "SELECT finished_at IS NOT NULL FROM participants")[0][0] == 1
    assert table(db, "SELECT value FROM meta WHERE key = 'design'")[0][0] == "human"


def test_bad_moves_are_shown_with_their_reason_never_a_server_error(study_config: Path,
                                                                   tmp_path: Path) -> None:
    with client_for(study_config, tmp_path / "run") as client:
        _, html = rate_all(client, join(client))
        turn = field(html, "turn")
        for text, reason in (("13000", "13000 is above $100, the whole pie"),
                             ("60/50", "60/50 adds up to 110, but $100 is to be split"),
                             ("what is this game?", "no proposal found in the text"),
                             ("", "nothing was typed"),
                             ("I accept", "no proposal found")):
            page = client.post("/play/read", data={"turn": turn, "text": text})
            assert page.status_code == 422, text
            assert f"Could not use that: {reason}" in page.text, page.text
            assert f'value="{text}"' in page.text  # what was typed stays in the box
            sent = client.post("/play/send", data={"turn": turn, "text": text})
            assert sent.status_code == 422 and "Could not use that" in sent.text
        stale = client.post("/play/read", data={"turn": "7", "text": "50"})
        assert stale.status_code == 422 and "this page was out of date" in stale.text
        junk = client.post("/play/send", data={"text": "50"})  # no turn at all
        assert junk.status_code == 422
        huge = client.post("/play/read", data={"turn": turn, "text": "9" * (MAX_FORM_BYTES + 1)})
        assert huge.status_code == 413
        assert client.post("/rate", content=b"\xff\xfe",
                           headers={"content-type": "application/x-www-form-urlencoded"}
                           ).status_code == 200  # nothing left to rate: on to the match
        assert client.get("/nowhere").status_code == 404
        assert client.get("/avatar/..%2Fmanifest.csv").status_code == 404
        assert client.get("/avatar/nobody").status_code == 404
        assert client.get("/result/1").status_code == 404  # not finished yet
        assert client.put("/play/send").status_code == 405
    db = tmp_path / "run" / "arena.sqlite"
    assert table(db, "SELECT COUNT(*) FROM participant_moves")[0][0] == 0  # nothing bad sent
    assert table(db, "SELECT COUNT(*) FROM matches")[0][0] == 0


def test_the_study_team_sets_the_texts_and_a_limit_on_participants(
        tmp_path: Path, small_pool: Path) -> None:
    serve = "\n".join(['rate = 1', 'matches = 1', 'max_participants = 1',
                       'instructions = "Welcome to the Lab study.\\n\\nYou will see faces."',
                       'consent = "I agree to the Lab\'s terms."',
                       'question = "How fierce is this face?"'])
    config = write_config(tmp_path, small_pool, serve=serve)
    with client_for(config, tmp_path / "run") as first, \
            TestClient(first.app, follow_redirects=True) as second:
        page = first.get("/").text
        assert "<p>Welcome to the Lab study.</p>" in page and "<p>You will see faces.</p>" in page
        assert "I agree to the Lab&#39;s terms." in page  # escaped, never raw HTML
        rating = first.post("/start", data={"consent": "yes"}).text
        assert "How fierce is this face?" in rating and "Rating 1 of 1" in rating
        full = second.post("/start", data={"consent": "yes"})
        assert full.status_code == 503 and "This study is full" in full.text


def test_one_participant_cannot_see_or_change_another(study_config: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    study = open_study(study_config, run_dir)
    with TestClient(build_app(study), follow_redirects=True) as alice, \
            TestClient(build_app(study), follow_redirects=True) as bob:
        a_rated, a_html = rate_all(alice, join(alice))
        assert "Your turn" in a_html
        bob_first = join(bob)
        mine = field(bob_first, "persona_id")
        not_mine = next(p for p in study.personas if p not in study.to_rate(
            study.participant(bob.cookies[COOKIE])))
        forged = bob.post("/rate", data={"persona_id": not_mine, "score": "4"})
        assert forged.status_code == 422 and "not one of yours to rate" in forged.text
        assert 'value="' + mine + '"' in forged.text
        stranger = TestClient(build_app(study), follow_redirects=False)
        stranger.cookies.set(COOKIE, "not-a-token")
        assert stranger.get("/play").headers["location"] == "/"
        assert stranger.post("/play/send", data={"turn": "0", "text": "50"}
                             ).headers["location"] == "/"
        assert "Your turn" not in bob.get("/play").text  # bob still rates; no match of alice's
    study.close()
    ids = table(run_dir / "arena.sqlite", "SELECT participant_id FROM participants")
    assert len(ids) == 2
    raters = table(run_dir / "arena.sqlite",
                   "SELECT rater, COUNT(*) FROM ratings WHERE rater LIKE 'human:%' GROUP BY rater")
    assert [n for _, n in raters] == [2]  # alice's two; bob's forged rating was refused
    tokens = table(run_dir / "arena.sqlite", "SELECT token_sha256 FROM participants")
    assert all(len(t) == 64 for (t,) in tokens)  # only the hash of a token is stored


def test_a_restarted_server_resumes_the_match_where_the_person_left_it(
        study_config: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with client_for(study_config, run_dir) as client:
        _, html = rate_all(client, join(client))
        html = move(client, html, "70/30")
        token = client.cookies[COOKIE]
        before = re.findall(r'<span class="said">([^<]*)</span>', html)
    # the first app is shut down now (its lifespan ended) and its store closed
    db = run_dir / "arena.sqlite"
    assert table(db, "SELECT COUNT(*) FROM matches")[0][0] == 0  # not finished: in progress
    with client_for(study_config, run_dir, token) as again:
        html = again.get("/play").text
        assert re.findall(r'<span class="said">([^<]*)</span>', html) == before
        assert "Your turn: you are the responder" in html
        html = move(again, html, "reject")
        html = move(again, html, "50")
        result = move(again, html, "accept")
        assert "The match is over" in result
    turns = table(db, "SELECT speaker, text FROM turns ORDER BY turn_index")
    assert [t for s, t in turns if s == "a"] == ["70/30", "reject", "50", "accept"]
    assert table(db, "SELECT COUNT(*) FROM matches WHERE status = 'ok'")[0][0] == 1


def test_a_participant_on_seat_b_waits_for_the_opponent_first(tmp_path: Path,
                                                              small_pool: Path) -> None:
    config = write_config(tmp_path, small_pool, serve="rate = 0\nmatches = 2\nside = \"b\"")
    with client_for(config, tmp_path / "run") as client:
        page = client.post("/start", data={"consent": "yes"})
        assert "Match 1 of 2" in page.text and "Your turn: you are the responder" in page.text
        assert "Opponent <small>(proposer, round 1)</small>" in page.text
        for text in ("accept", "50", "accept"):
            page = client.post("/play/send", data={"turn": field(page.text, "turn"),
                                                   "text": text})
        result = client.post("/play/send", data={"turn": field(page.text, "turn"),
                                                 "text": "50/50"})
        assert "The match is over" in result.text and 'href="/play"' in result.text
        second = client.get("/play")
        assert "Match 2 of 2" in second.text
    rows = table(tmp_path / "run" / "arena.sqlite", "SELECT agent_a, agent_b FROM matches")
    assert rows == [("surrogate:gpt-4o", "human")]


# -- the command line -------------------------------------------------------------------------
def test_serve_refuses_bad_input_with_one_line(tmp_path: Path, small_pool: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('seed = 1\n[personas]\npool = "nowhere"\n[serve]\nrate = -1\n')
    cases = [
        (["serve", str(bad), "--out", str(tmp_path / "r1")], "serve.rate"),
        (["serve", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "r2")],
         "no such config file"),
        (["serve", str(write_config(tmp_path, small_pool)), "--out", str(tmp_path / "r3"),
          "--port", "70000"], "--port must be 1..65535 (got 70000)"),
    ]
    (tmp_path / "n").mkdir()
    nothing = write_config(tmp_path / "n", small_pool, serve="rate = 0\nmatches = 0")
    cases.append((["serve", str(nothing), "--out", str(tmp_path / "r4")],
                  "serve.rate and serve.matches are both 0"))
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    cases.append((["serve", str(write_config(tmp_path, small_pool)), "--out", str(other)],
                  "holds other files"))
    for args, message in cases:
        result = cli(*args, timeout=60)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = cli("serve", str(write_config(tmp_path, small_pool)), "--out",
                     str(tmp_path / "r5"), "--port", str(port), timeout=60)
    assert result.returncode == 2 and f"--port {port}: cannot listen" in result.stderr


def test_serve_refuses_a_run_folder_of_another_config(tmp_path: Path, small_pool: Path) -> None:
    run_dir = tmp_path / "run"
    study = open_study(write_config(tmp_path, small_pool), run_dir)
    study.close()
    (tmp_path / "b").mkdir()
    changed = write_config(tmp_path / "b", small_pool, agent='kind = "concession"')
    with pytest.raises(InputError, match="holds a run of a different config"):
        open_study(changed, run_dir)


# -- the browser ------------------------------------------------------------------------------
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`persona-arena serve` in a subprocess, as a study team would start it."""

    def __init__(self, config: Path, run_dir: Path, port: int) -> None:
        self.args = [sys.executable, "-m", "arena.cli", "serve", str(config), "--out",
                     str(run_dir), "--port", str(port)]
        self.port = port
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> "Server":
        self.proc = subprocess.Popen(self.args, cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        assert f"http://127.0.0.1:{self.port}/" in line, (line, self.proc.stderr.read())  # type: ignore[union-attr]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise AssertionError("serve did not listen")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the machine loses power."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One headless Chromium for the module's browser tests (starting one takes seconds)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("the browser test needs Debian's chromium and chromium-driver "
                    "(apt-get install -y chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver",
                                    reason="the browser test needs selenium (the test extra)")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp_path_factory.mktemp("browser"))
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", f"--user-data-dir={profile}",
                 "--window-size=1200,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def browser(chromium: object) -> Iterator[object]:
    """The module's Chromium as a new participant would open it: no cookie (a cookie of
    127.0.0.1 is sent to every port) and no page left by an earlier test."""
    def fresh() -> None:
        chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})  # type: ignore[attr-defined]
        chromium.get("about:blank")  # type: ignore[attr-defined]

    fresh()
    yield chromium
    fresh()


@pytest.mark.xdist_group("chromium")  # one worker: one Chromium for both
def test_a_participant_in_chromium_rates_and_plays_through_a_killed_server(
        browser: object, tmp_path: Path, small_pool: Path) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    shots = tmp_path / "screens"
    shots.mkdir()
    config = write_config(tmp_path, small_pool)
    run_dir = tmp_path / "run"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Server(config, run_dir, port).start()

    def shot(name: str) -> None:
        driver.save_screenshot(str(shots / f"{name}.png"))  # type: ignore[attr-defined]

    def find(css: str) -> object:
        return driver.find_element(By.CSS_SELECTOR, css)  # type: ignore[attr-defined]

    def submit(css: str) -> None:
        """Click what submits a form and wait for the next page (a click does not wait)."""
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.wait import WebDriverWait

        old = find("html")
        find(css).click()  # type: ignore[attr-defined]
        WebDriverWait(driver, 20).until(expected_conditions.staleness_of(old))
        WebDriverWait(driver, 20).until(
            lambda d: d.execute_script("return document.readyState") == "complete")

    def text() -> str:
        return driver.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]

    def restart() -> None:
        nonlocal server
        server.kill()
        server = Server(config, run_dir, port).start()

    try:
        driver.get(base + "/")  # type: ignore[attr-defined]
        shot("1-welcome")
        submit("#start")  # no consent ticked: refused, with the reason
        assert "Please tick the box" in text()
        find("#consent").click()
        submit("#start")
        assert "Rating 1 of 2" in text()
        shot("2-rate")
        find("label.point:nth-of-type(3)").click()  # the third point of the scale: 3
        submit("#rate-submit")
        assert "Rating 2 of 2" in text()
        restart()  # killed mid-session: the first rating is committed, the cookie kept
        driver.refresh()  # type: ignore[attr-defined]
        assert "Rating 2 of 2" in text()
        find("label.point:nth-of-type(6)").click()
        submit("#rate-submit")
        assert "Your turn: you are the proposer" in text()
        assert find("img.avatar").get_attribute("naturalWidth") != "0"  # type: ignore[attr-defined]
        shot("3-play")
        box = find("#move-text")
        box.send_keys("13000")  # type: ignore[attr-defined]
        submit("#check")
        assert "Could not use that: 13000 is above $100, the whole pie" in text()
        shot("4-refused")
        box = find("#move-text")
        box.clear()  # type: ignore[attr-defined]
        box.send_keys("90/10")  # type: ignore[attr-defined]
        submit("#check")
        assert "This is read as: you claim $90: $90 for you, $10 for them." in text()
        shot("5-confirm")
        submit("#send")
        assert "Your turn: you are the responder" in text()
        shot("6-after-move")
        restart()  # killed mid-match: the move is stored, the match replays to this point
        driver.get(base + "/play")  # type: ignore[attr-defined]
        assert "read as: you claim $90: $90 for you, $10 for them" in text()
        assert "Your turn: you are the responder" in text()
        submit("#quick-accept")
        assert "you accept their proposal" in text()
        submit("#send")
        for typed in ("60", "reject"):
            box = find("#move-text")
            box.send_keys(typed)  # type: ignore[attr-defined]
            submit("#check")
            submit("#send")
        assert "The match is over" in text()
        shot("7-result")
        submit("#continue")
        assert "Thank you!" in text()
        pid = find("#participant-id").text  # type: ignore[attr-defined]
        shot("8-done")
    finally:
        server.stop()
    db = run_dir / "arena.sqlite"
    conn = sqlite3.connect(db)
    try:
        scores = sorted(s for (s,) in conn.execute(
            "SELECT score FROM ratings WHERE rater = ?", (f"human:{pid}",)))
        match = conn.execute("SELECT agent_a, agent_b, status, n_turns FROM matches").fetchall()
        mine = [t for (t,) in conn.execute(
            "SELECT text FROM turns WHERE speaker = 'a' ORDER BY turn_index")]
    finally:
        conn.close()
    assert scores == [3.0, 6.0]
    assert match == [("human", "surrogate:gpt-4o", "ok", 8)]
    assert mine == ["90/10", "I accept", "60", "reject"]
    for name in ("1-welcome", "2-rate", "3-play", "5-confirm", "7-result", "8-done"):
        assert (shots / f"{name}.png").stat().st_size > 5000
    keep = os.environ.get("PERSONA_ARENA_SCREENSHOTS")
    if keep:  # to look at the pages: PERSONA_ARENA_SCREENSHOTS=DIR pytest -k chromium
        shutil.copytree(shots, keep, dirs_exist_ok=True)


# -- other games and opponents ------------------------------------------------------------------
def test_a_price_bargain_against_the_concession_agent(tmp_path: Path, small_pool: Path) -> None:
    path = tmp_path / "bargain.toml"
    path.write_text(f'''seed = 3
scenario = "price-bargain"
condition = "self-only"
[personas]
pool = "{small_pool}"
[agents.default]
kind = "concession"
[serve]
rate = 0
''')
    with client_for(path, tmp_path / "run") as client:
        page = client.post("/start", data={"consent": "yes"}).text
        assert "Your reservation price, which your opponent does not know, is $20" in page
        assert "You, as your opponent sees you" not in page  # self-only: they see only theirs
        assert 'id="quick-walk-away"' in page and 'id="quick-accept"' not in page  # the legal ones
        echo = client.post("/play/read", data={"turn": field(page, "turn"), "text": "90"})
        assert "you propose a price of $90" in echo.text
        page = move(client, page, "90")
        assert "Opponent <small>(buyer" in page
        refused = client.post("/play/read", data={"turn": field(page, "turn"), "text": "90/10"})
        assert refused.status_code == 422 and "names several numbers; give one price" in refused.text
        result = move(client, page, "walk away")
        assert "The match is over" in result
    rows = table(tmp_path / "run" / "arena.sqlite",
                 "SELECT scenario, agent_a, agent_b, status, deal FROM matches")
    assert rows == [("price-bargain", "human", "concession:linear", "ok", 0)]


def test_an_llm_opponent_sees_the_person_and_replays_from_the_cache_after_a_restart(
        tmp_path: Path, small_pool: Path, loopback: object,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.llm_helpers import chats

    monkeypatch.setenv("OPENAI_API_KEY", "sk-serve-test")
    monkeypatch.setenv("PERSONA_ARENA_CACHE", str(tmp_path / "cache"))
    config = write_config(tmp_path, small_pool, agent=f'''kind = "llm"
model = "local"
[models.local]
base_url = "{loopback.base_url}"
model = "loopback-vlm"''', serve="rate = 0")  # type: ignore[attr-defined]
    run_dir = tmp_path / "run"
    with client_for(config, run_dir) as client:
        page = client.post("/start", data={"consent": "yes"}).text
        page = move(client, page, "I take $70 and you get $30")
        assert "Your turn: you are the responder" in page
        token = client.cookies[COOKIE]
    asked = len(chats(loopback))  # type: ignore[arg-type]
    assert asked >= 2
    first = chats(loopback)[0]["messages"][1]["content"]  # type: ignore[arg-type]
    assert [part["type"] for part in first].count("image_url") == 2  # both-images: the person too
    with client_for(config, run_dir, token) as again:
        page = again.get("/play").text
        assert "Your turn: you are the responder" in page
        assert len(chats(loopback)) == asked  # type: ignore[arg-type]  # replayed from the cache
        page = move(again, page, "accept")
        page = move(again, page, "60")
        result = move(again, page, "reject")
        assert "The match is over" in result
    bodies = chats(loopback)  # type: ignore[arg-type]
    assert {"role": "user", "content": "I take $70 and you get $30"} in bodies[-1]["messages"]
    rows = table(run_dir / "arena.sqlite", "SELECT agent_a, agent_b, status, n_turns, calls "
                                           "FROM matches")
    assert rows[0][:4] == ("human", "llm:local", "ok", 8)
    cached = table(run_dir / "arena.sqlite", "SELECT turn_index, cached FROM turns "
                                             "WHERE speaker = 'b' ORDER BY turn_index")
    assert cached == [(1, 1), (2, 1), (5, 0), (6, 0)]  # before the restart: from the cache


# -- games of more than two seats ---------------------------------------------------------------
def majority_config(tmp: Path, pool: Path, side: str = "c", matches: int = 1) -> Path:
    path = tmp / "majority.toml"
    path.write_text(f'''seed = 6
scenario = "majority-division"
condition = "both-images"
[personas]
pool = "{pool}"
[agents.default]
kind = "concession"
tactic = "conceder"
[serve]
rate = 0
matches = {matches}
side = "{side}"
''')
    return path


def test_a_participant_plays_one_seat_of_a_majority_division(tmp_path: Path,
                                                             small_pool: Path) -> None:
    """Player 3 of 3 against two machine seats: every other player's avatar is shown and
    numbered, the game says what passes a proposal and what the person gets, and a restart
    replays the match to the person's vote."""
    config = majority_config(tmp_path, small_pool)
    run_dir = tmp_path / "run"
    with client_for(config, run_dir) as client:
        page = client.post("/start", data={"consent": "yes"}).text
        assert "Your turn: you are the voter, player 3 (accept / reject)" in page
        assert page.count('class="persona"') == 3  # players 1 and 2, and you as they see you
        assert "<strong>Player 1</strong>" in page and "<strong>Player 2</strong>" in page
        assert "You, as the other players see you" in page
        assert "You are player 3 of 3. A proposal passes with 2 of 3 votes" in page
        assert "Player 1 <small>(proposer, round 1)</small>" in page
        assert "Player 2 <small>(voter, round 1)</small>" in page
        assert 'id="quick-accept"' in page and 'id="quick-reject"' in page
        assert "&#34;yes&#34; (accept) or &#34;no&#34; (reject)" in page  # the game's hint
        echo = client.post("/play/read", data={"turn": field(page, "turn"), "text": "no"})
        assert "you reject player 1&#39;s proposal: player 1 gets $" in echo.text
        assert "for you, player 3)" in echo.text
        refused = client.post("/play/read", data={"turn": field(page, "turn"),
                                                  "text": "40/30/30"})
        assert refused.status_code == 422 and "neither a yes nor a no vote" in refused.text
        page = move(client, page, "no")
        assert "Player 2 <small>(proposer, round 2)</small>" in page
        token = client.cookies[COOKIE]
        before = re.findall(r'<span class="said">([^<]*)</span>', page)
    db = run_dir / "arena.sqlite"
    assert table(db, "SELECT COUNT(*) FROM matches")[0][0] == 0  # in progress
    with client_for(config, run_dir, token) as again:
        page = again.get("/play").text
        assert re.findall(r'<span class="said">([^<]*)</span>', page) == before
        for _ in range(20):  # vote yes, propose 40/30/30, until the match ends
            if "The match is over" in page:
                break
            page = move(again, page, "40/30/30" if "you are the proposer" in page else "yes")
        assert "The match is over" in page
        assert re.search(r"You got <strong>\$\d+</strong>; player 1 \$\d+, player 2 \$\d+ "
                         r"\(1 agreement\)", page), page
        assert page.count('class="persona"') == 2
    seats = table(db, "SELECT seat, agent, role FROM seats ORDER BY seat")
    assert seats == [("a", "concession:conceder", "proposer"),
                     ("b", "concession:conceder", "voter"), ("c", "human", "voter")]
    stored = table(db, "SELECT seat, persona_id FROM participant_seats ORDER BY seat")
    assert stored == table(db, "SELECT seat, persona_id FROM seats ORDER BY seat")
    assert len({p for _, p in stored}) == 3
    assert table(db, "SELECT text FROM turns WHERE speaker = 'c' ORDER BY turn_index")[0] == (
        "no",)
    assert sum(p for (p,) in table(db, "SELECT payoff FROM seats")) == 100


def test_serve_refuses_a_seat_the_game_does_not_have(tmp_path: Path, small_pool: Path) -> None:
    config = write_config(tmp_path, small_pool, serve='rate = 0\nside = "c"')
    with pytest.raises(InputError, match=r"field 'serve.side': must be one of a, b \(got 'c'\)"):
        open_study(config, tmp_path / "run")
    result = cli("serve", str(config), "--out", str(tmp_path / "run2"), "--port", "1")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.xdist_group("chromium")  # one worker: one Chromium for both
def test_a_participant_in_chromium_votes_in_a_majority_division(
        browser: object, tmp_path: Path, small_pool: Path) -> None:
    """The three-seat game through a real server and browser: the person (player 2) accepts
    player 1's proposal with the one-click button, which passes it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    driver = browser
    config = majority_config(tmp_path, small_pool, side="b")
    run_dir = tmp_path / "run"
    port = free_port()
    server = Server(config, run_dir, port).start()

    def find(css: str) -> object:
        return driver.find_element(By.CSS_SELECTOR, css)  # type: ignore[attr-defined]

    def submit(css: str) -> None:
        old = find("html")
        find(css).click()  # type: ignore[attr-defined]
        WebDriverWait(driver, 20).until(expected_conditions.staleness_of(old))
        WebDriverWait(driver, 20).until(
            lambda d: d.execute_script("return document.readyState") == "complete")

    def text() -> str:
        return driver.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]

    shot = Path(os.environ.get("PERSONA_ARENA_SCREENSHOTS") or tmp_path) / "majority.png"
    try:
        driver.get(f"http://127.0.0.1:{port}/")  # type: ignore[attr-defined]
        find("#consent").click()
        submit("#start")
        assert "Your turn: you are the voter, player 2" in text()
        avatars = driver.find_elements(By.CSS_SELECTOR, "img.avatar")  # type: ignore[attr-defined]
        assert len(avatars) == 3 and all(a.get_attribute("naturalWidth") != "0" for a in avatars)
        driver.save_screenshot(str(shot))  # type: ignore[attr-defined]
        submit("#quick-accept")
        assert "you accept player 1's proposal: player 1 gets $" in text()
        submit("#send")
        assert "The match is over" in text()
        assert "; player 1 $" in text() and ", player 3 $" in text()
    finally:
        server.stop()
    assert shot.stat().st_size > 5000
    assert table(run_dir / "arena.sqlite", "SELECT seat, agent FROM seats ORDER BY seat") == [
        ("a", "concession:conceder"), ("b", "human"), ("c", "concession:conceder")]


def test_a_random_seat_of_a_three_seat_game_is_drawn_from_all_three(tmp_path: Path,
                                                                   small_pool: Path) -> None:
    config = majority_config(tmp_path, small_pool, side="random", matches=6)
    run_dir = tmp_path / "run"
    with client_for(config, run_dir) as client:
        page = client.post("/start", data={"consent": "yes"}).text
        for _ in range(60):  # play all six matches: yes to every vote, 34/33/33 as proposer
            if "Thank you!" in page:
                break
            if "The match is over" in page:
                page = client.get("/play").text
                continue
            page = move(client, page, "34/33/33" if "you are the proposer" in page else "yes")
        assert "Thank you!" in page
    db = run_dir / "arena.sqlite"
    sides = [s for (s,) in table(db, "SELECT side FROM participant_matches ORDER BY number")]
    assert len(sides) == 6 and set(sides) <= {"a", "b", "c"} and len(set(sides)) > 1
    humans = table(db, "SELECT s.seat FROM seats s JOIN participant_matches p USING (match_id) "
                       "WHERE s.agent = 'human' ORDER BY p.number")
    assert [s for (s,) in humans] == sides
