"""The loopback OpenAI server: protocol shape, persona answers, token counts, faults, modes.

Every client here is a real one (openai.OpenAI, openai.AsyncOpenAI, AutoGen's
OpenAIChatCompletionClient) talking HTTP to 127.0.0.1.
"""
from __future__ import annotations

import asyncio
import http.client
import io
import json
import re
import time
from collections import Counter
from typing import Any

import openai
import pytest

from tests.openai_server import (
    GARBAGE_TEXT,
    REFUSAL_TEXT,
    LoopbackServer,
    data_url,
    image_level,
    image_size,
    image_tokens,
    make_png,
    parse_offer,
    persona_reply,
    prompt_tokens,
    start_server_process,
)

SYSTEM = "In the following conversation, you are one of the two players participating in a negotiation game."
RATING = ("Based on the picture of the fictional character, evaluate their appearance. Rate how aggressive the "
          "character looks from 1 to 7, with 7 being the most aggressive. Please answer with numbers only.")
EXTRACT_CLAIM = ("Based on the following dialogue, extract the amount the proposer proposed for him or her self "
                 "against the responder. Answer with only one number. Do not use '$'.")
EXTRACT_ACCEPT = ("Based on the following dialogue, If the responder accepts the proposal, print '1', and if it "
                  "rejects, print '0'. Answer with only one number.")


def avatar(level: int | None = None, size: int = 64, rgb: tuple[int, int, int] = (90, 30, 30)) -> str:
    text = {"aggression": str(level)} if level is not None else None
    return data_url(make_png(size, size, rgb, text))


def game_messages(own: str, opp: str | None, last: str) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": "You are the character in the following image:"},
                                   {"type": "image_url", "image_url": {"url": own}}]
    if opp is not None:
        parts += [{"type": "text", "text": "The next image is your opponent:"},
                  {"type": "image_url", "image_url": {"url": opp}}]
    parts.append({"type": "text", "text": "Let's play an ultimatum game. You are the proposer in the first "
                                          "and third round."})
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": parts},
            {"role": "user", "content": last}]


def ask(messages: list[dict[str, Any]], **extra: Any) -> str:
    return persona_reply({"model": "m", "messages": messages, **extra}, seed=1)


# ---------------------------------------------------------------------------------------------
# Pure parts
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("width,height,detail,expected", [
    (1024, 1024, "high", 765),
    (1024, 1024, "auto", 765),
    (2048, 4096, "high", 1105),
    (4096, 8192, None, 1105),
    (512, 512, "high", 255),
    (100, 100, "auto", 255),
    (768, 768, "high", 765),
    (2000, 500, "high", 765),
    (4096, 4096, "low", 85),
    (1, 1, "low", 85),
])
def test_image_tokens_known_values(width: int, height: int, detail: str | None, expected: int) -> None:
    assert image_tokens(width, height, detail) == expected


def test_image_tokens_agrees_with_autogen_estimator() -> None:
    pil = pytest.importorskip("PIL.Image")
    from autogen_core import Image
    from autogen_ext.models.openai._openai_client import calculate_vision_tokens

    for width, height in [(64, 64), (800, 600), (1024, 1024), (1920, 1080), (3000, 1000), (700, 5000),
                          (2048, 4096), (769, 1537)]:
        image = Image(pil.new("RGB", (width, height)))
        assert image_tokens(width, height, "auto") == calculate_vision_tokens(image), (width, height)


def test_image_size_reads_png_jpeg_gif_webp() -> None:
    assert image_size(make_png(321, 123)) == (321, 123)
    pil = pytest.importorskip("PIL.Image")
    for fmt, kwargs in [("JPEG", {}), ("JPEG", {"progressive": True}), ("GIF", {}), ("WEBP", {}),
                        ("WEBP", {"lossless": True})]:
        buffer = io.BytesIO()
        pil.new("RGB", (333, 77), (10, 200, 30)).save(buffer, format=fmt, **kwargs)
        assert image_size(buffer.getvalue()) == (333, 77), (fmt, kwargs)
    assert image_size(b"not an image") is None


def test_prompt_tokens_counts_text_and_images() -> None:
    body = {"messages": [
        {"role": "system", "content": "x" * 40},                       # 10 + 4
        {"role": "user", "content": [
            {"type": "text", "text": "y" * 8},                          # 2 + 4
            {"type": "image_url", "image_url": {"url": data_url(make_png(1024, 1024))}},              # 765
            {"type": "image_url", "image_url": {"url": data_url(make_png(64, 64)), "detail": "low"}},  # 85
        ]},
    ]}
    assert prompt_tokens(body) == 14 + 6 + 765 + 85


def test_parse_offer_reads_the_papers_phrasings() -> None:
    assert parse_offer("As the proposer, I suggest $68 for me and $32 for you.") == (68, 32)
    assert parse_offer("I shall propose a 70-30 split. I shall take $70, and you shall receive $30.") == (70, 30)
    assert parse_offer("- $60 for me\n- $40 for you") == (60, 40)
    assert parse_offer("I suggest an even split, $50 for me and 50$ for you.") == (50, 50)
    assert parse_offer("How about a 55/45 split?") == (55, 45)
    assert parse_offer("I accept the offer.") is None


# ---------------------------------------------------------------------------------------------
# Persona answers
# ---------------------------------------------------------------------------------------------

def test_rating_prompt_gets_a_digit_fixed_by_the_image() -> None:
    def rate(url: str) -> str:
        return ask([{"role": "system", "content": RATING},
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}])

    for level in range(1, 8):
        assert rate(avatar(level)) == str(level)
    plain = [rate(avatar(None, rgb=(i, 2 * i, 3))) for i in range(30)]
    assert all(re.fullmatch(r"[1-7]", s) for s in plain)
    assert len(set(plain)) > 3
    assert plain == [rate(avatar(None, rgb=(i, 2 * i, 3))) for i in range(30)]
    assert image_level(avatar(6)) == 6


def test_proposer_claims_more_with_an_aggressive_image_and_a_meek_opponent() -> None:
    def claim(own: int, opp: int | None, round_no: int = 1) -> float:
        text = ask(game_messages(avatar(own), avatar(opp) if opp else None, f"==={'round'}{round_no}==="))
        assert text.startswith("As the proposer, I suggest $")
        offer = parse_offer(text)
        assert offer is not None and offer[0] + offer[1] == 100 and 50 <= offer[0] <= 80
        return offer[0]

    assert claim(7, 1) > claim(1, 7)
    assert claim(7, None) > claim(1, None)
    assert claim(6, 2) > claim(6, 6)
    # identical requests, identical answers
    assert claim(4, 4, 3) == claim(4, 4, 3)


def test_responder_accepts_fair_offers_and_rejects_greedy_ones() -> None:
    own, opp = avatar(3), avatar(5)
    fair = ask(game_messages(own, opp, "As the proposer, I suggest $60 for me and $40 for you."))
    greedy = ask(game_messages(own, opp, "I propose a 90-10 split. I shall take $90."))
    assert fair == "As the responder, I accept your proposal."
    assert greedy == "I reject this proposal."


def test_json_moves_when_json_is_asked() -> None:
    own = avatar(5)
    move = json.loads(ask(game_messages(own, None, "===round2==="), response_format={"type": "json_object"}))
    assert move["move"] == "propose" and 50 <= move["claim"] <= 80 and move["message"]
    answer = json.loads(ask(game_messages(own, None, "Answer in JSON. As the proposer, I suggest $70 for me "
                                                      "and $30 for you.")))
    assert answer["move"] == "accept"
    responder_prompt = 'Answer with a JSON object only: {"move": "accept"} or {"move": "reject"}.'
    assert json.loads(ask(game_messages(own, None, responder_prompt)))["move"] == "reject"


def test_extraction_prompts_answer_numbers() -> None:
    def extract(system: str, text: str) -> str:
        return ask([{"role": "system", "content": system}, {"role": "user", "content": f"Dialogue:\n{text}"}])

    assert extract(EXTRACT_CLAIM, "Ah! I propose a 70-30 split. I shall take $70, and you shall receive $30.") == "70"
    assert extract(EXTRACT_CLAIM, "As the proposer, I suggest $65 for me and $35 for you.") == "65"
    assert extract(EXTRACT_ACCEPT, "A most agreeable offer. I accept the proposal.") == "1"
    assert extract(EXTRACT_ACCEPT, "No, I do not accept this offer.") == "0"
    assert extract(EXTRACT_ACCEPT, "I reject the proposal.") == "0"
    # the prompt in the user message, before the dialogue, works too
    merged = [{"role": "user", "content": f"{EXTRACT_CLAIM}\nDialogue:\nHow about $72 for me?"}]
    assert ask(merged) == "72"


# ---------------------------------------------------------------------------------------------
# The official clients
# ---------------------------------------------------------------------------------------------

def test_sync_client_gets_openai_shaped_answers(loopback: LoopbackServer) -> None:
    client = openai.OpenAI(base_url=loopback.base_url, api_key="sk-test", max_retries=0)
    messages = game_messages(avatar(4, size=1024), avatar(2), "===round1===")
    result = client.chat.completions.create(model="gpt-4o", messages=messages, temperature=1, max_tokens=300)
    assert result.object == "chat.completion" and result.id.startswith("chatcmpl-")
    assert result.model == "gpt-4o" and result.created > 0
    choice = result.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert choice.message.content.startswith("As the proposer")
    body = loopback.requests[-1]["body"]
    assert result.usage.prompt_tokens == prompt_tokens(body)
    assert result.usage.prompt_tokens > 765 + 255  # a 1024 px and a 64 px image
    assert result.usage.completion_tokens == len(choice.message.content) // 4 + 1
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    again = client.chat.completions.create(model="gpt-4o", messages=messages, temperature=1, max_tokens=300)
    assert again.choices[0].message.content == choice.message.content
    assert [m.id for m in client.models.list()] == ["loopback-vlm"]

    rating = client.chat.completions.create(
        model="gpt-4o", temperature=0, max_tokens=1,
        messages=[{"role": "user", "content": [{"type": "text", "text": RATING},
                                               {"type": "image_url", "image_url": {"url": avatar(7)}}]}])
    assert rating.choices[0].message.content == "7" and rating.usage.completion_tokens == 1

    streamed = client.chat.completions.create(model="gpt-4o", messages=messages, stream=True,
                                              stream_options={"include_usage": True})
    chunks = list(streamed)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == choice.message.content
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == result.usage.prompt_tokens


def test_requests_are_recorded_with_headers_and_image_parts(loopback: LoopbackServer) -> None:
    client = openai.OpenAI(base_url=loopback.base_url, api_key="sk-test", max_retries=0)
    own, opp = avatar(2), avatar(6)
    client.chat.completions.create(model="m", messages=game_messages(own, opp, "===round1==="))
    (record,) = loopback.requests
    assert record["path"] == "/v1/chat/completions" and record["method"] == "POST"
    assert record["headers"]["authorization"] == "Bearer sk-test"
    assert record["status"] == 200 and record["attempt"] == 0 and record["time"] > 0
    parts = record["body"]["messages"][1]["content"]
    assert [p["image_url"]["url"] for p in parts if p["type"] == "image_url"] == [own, opp]
    assert loopback.stats()["by_status"] == {"200": 1}
    loopback.reset()
    assert loopback.requests == [] and loopback.stats()["requests"] == 0


def test_custom_responder(loopback_factory: Any) -> None:
    srv = loopback_factory(responder=lambda request: f"{len(request['messages'])} messages")
    client = openai.OpenAI(base_url=srv.base_url, api_key="sk-test", max_retries=0)
    result = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}] * 3)
    assert result.choices[0].message.content == "3 messages"


def test_64_concurrent_async_requests_all_succeed(loopback_factory: Any) -> None:
    srv = loopback_factory(latency_ms=300)

    async def run() -> list[str]:
        client = openai.AsyncOpenAI(base_url=srv.base_url, api_key="sk-test", max_retries=0, timeout=10)
        async with client:
            results = await asyncio.gather(*[
                client.chat.completions.create(model="m", messages=game_messages(avatar(1 + i % 7), None,
                                                                                   f"===round{1 + i % 4}==="))
                for i in range(64)])
        return [r.choices[0].message.content for r in results]

    started = time.perf_counter()
    answers = asyncio.run(run())
    elapsed = time.perf_counter() - started
    assert len(answers) == 64 and all(a.startswith("As the proposer") for a in answers)
    stats = srv.stats()
    assert stats["by_status"] == {"200": 64}
    assert stats["max_in_flight"] >= 32  # the latency overlapped: requests did not queue
    assert elapsed < 64 * 0.3 / 4


# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------

RATES = {"rate_429": 0.10, "rate_500": 0.05, "rate_503": 0.05, "rate_close": 0.05, "rate_malformed": 0.05,
         "rate_empty": 0.05, "rate_refusal": 0.05, "rate_garbage": 0.05}


def raw_outcomes(srv: LoopbackServer, n: int) -> list[str]:
    """POST n distinct requests over keep-alive; what the client saw for each."""
    outcomes = []
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    for i in range(n):
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": f"request {i}"}]})
        try:
            conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
        except (http.client.HTTPException, ConnectionError):
            outcomes.append("close")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
            continue
        if response.status != 200:
            outcomes.append(str(response.status))
            continue
        try:
            content = json.loads(data)["choices"][0]["message"]["content"]
        except ValueError:
            outcomes.append("malformed")
            continue
        outcomes.append({"": "empty", REFUSAL_TEXT: "refusal", GARBAGE_TEXT: "garbage"}.get(content, "ok"))
    conn.close()
    return outcomes


def test_faults_happen_at_their_rates_and_reproducibly(loopback_factory: Any) -> None:
    n = 800
    first = raw_outcomes(loopback_factory(seed=7, **RATES), n)
    counts = Counter(first)
    for name, rate in RATES.items():
        observed = counts[name.removeprefix("rate_")] / n
        assert abs(observed - rate) < 0.04, (name, observed)
    assert abs(counts["ok"] / n - 0.55) < 0.06
    second = raw_outcomes(loopback_factory(seed=7, **RATES), n)
    assert second == first
    other = raw_outcomes(loopback_factory(seed=8, **RATES), n)
    assert other != first and abs(Counter(other)["ok"] / n - 0.55) < 0.06


def test_faults_do_not_depend_on_arrival_order(loopback_factory: Any) -> None:
    def faults_by_request(srv: LoopbackServer) -> dict[str, str | None]:
        return {r["body"]["messages"][0]["content"]: r["fault"] for r in srv.requests}

    sequential = loopback_factory(seed=5, **RATES)
    raw_outcomes(sequential, 64)
    concurrent = loopback_factory(seed=5, **RATES)

    async def run() -> None:
        client = openai.AsyncOpenAI(base_url=concurrent.base_url, api_key="sk-test", max_retries=0, timeout=5)
        async with client:
            await asyncio.gather(*[
                client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"request {i}"}])
                for i in reversed(range(64))], return_exceptions=True)

    asyncio.run(run())
    assert faults_by_request(concurrent) == faults_by_request(sequential)
    assert any(faults_by_request(sequential).values())


def test_retried_requests_can_succeed_and_429_carries_retry_after(loopback_factory: Any) -> None:
    srv = loopback_factory(seed=3, rate_429=0.5, retry_after=0.01)
    client = openai.OpenAI(base_url=srv.base_url, api_key="sk-test", max_retries=10)
    for i in range(20):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"again {i}"}])
    records = srv.requests
    assert 20 < len(records) < 60
    assert max(r["attempt"] for r in records) >= 1
    assert {r["headers"].get("x-stainless-retry-count") for r in records} >= {"0", "1"}

    always = loopback_factory(rate_429=1.0, retry_after=2)
    client = openai.OpenAI(base_url=always.base_url, api_key="sk-test", max_retries=0)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.response.headers["retry-after"] == "2"
    assert caught.value.body["code"] == "rate_limit_exceeded"


def test_each_fault_as_the_openai_client_sees_it(loopback_factory: Any) -> None:
    def call(**options: Any) -> Any:
        srv = loopback_factory(**options)
        client = openai.OpenAI(base_url=srv.base_url, api_key="sk-test", max_retries=0, timeout=0.5)
        return client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])

    with pytest.raises(openai.InternalServerError):
        call(rate_500=1)
    with pytest.raises(openai.InternalServerError):
        call(rate_503=1)
    with pytest.raises(openai.APIConnectionError):
        call(rate_close=1)
    with pytest.raises(ValueError):  # the openai client lets json.JSONDecodeError through
        call(rate_malformed=1)
    started = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        call(rate_stall=1, stall_s=30)
    assert time.perf_counter() - started < 2
    assert call(rate_empty=1).choices[0].message.content == ""
    assert call(rate_refusal=1).choices[0].message.content == REFUSAL_TEXT
    assert call(rate_garbage=1).choices[0].message.content == GARBAGE_TEXT


def test_stalled_request_answers_after_stall(loopback_factory: Any) -> None:
    srv = loopback_factory(rate_stall=1, stall_s=0.3)
    client = openai.OpenAI(base_url=srv.base_url, api_key="sk-test", max_retries=0, timeout=5)
    started = time.perf_counter()
    result = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert time.perf_counter() - started >= 0.3 and result.choices[0].message.content
    assert srv.stats()["by_fault"] == {"stall": 1}


def test_api_key_and_vision_checks(loopback_factory: Any) -> None:
    srv = loopback_factory(require_key="sk-right")
    with pytest.raises(openai.AuthenticationError) as caught:
        openai.OpenAI(base_url=srv.base_url, api_key="sk-wrong-key", max_retries=0).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["code"] == "invalid_api_key"
    ok = openai.OpenAI(base_url=srv.base_url, api_key="sk-right", max_retries=0).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}])
    assert ok.choices[0].message.content

    blind = loopback_factory(vision=False)
    client = openai.OpenAI(base_url=blind.base_url, api_key="sk-test", max_retries=0)
    with pytest.raises(openai.BadRequestError, match="does not support image inputs"):
        client.chat.completions.create(model="m", messages=game_messages(avatar(3), None, "===round1==="))
    assert client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}]).choices


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="add up"):
        LoopbackServer(rate_429=0.6, rate_500=0.6)
    with pytest.raises(ValueError, match="rate_close"):
        LoopbackServer(rate_close=1.5)


# ---------------------------------------------------------------------------------------------
# Separate process
# ---------------------------------------------------------------------------------------------

def test_separate_process_starts_answers_and_stops() -> None:
    with start_server_process(seed=1, latency_ms=20, require_key="sk-test") as proc:
        client = openai.OpenAI(base_url=proc.base_url, api_key="sk-test", max_retries=0, timeout=5)
        result = client.chat.completions.create(model="m", messages=game_messages(avatar(5), None, "===round1==="))
        assert result.choices[0].message.content.startswith("As the proposer")
        (record,) = proc.requests()
        assert record["headers"]["authorization"] == "Bearer sk-test"
        assert proc.stats()["by_status"] == {"200": 1}
        proc.reset()
        assert proc.stats()["requests"] == 0
        started = time.perf_counter()
        assert proc.stop() == 0
        assert time.perf_counter() - started < 3
    assert proc.process.poll() == 0


# ---------------------------------------------------------------------------------------------
# AutoGen's OpenAI-compatible client
# ---------------------------------------------------------------------------------------------

def test_autogen_client_against_the_loopback(loopback: LoopbackServer) -> None:
    pil = pytest.importorskip("PIL.Image")
    from autogen_core import Image
    from autogen_core.models import SystemMessage, UserMessage
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    client = OpenAIChatCompletionClient(
        model="loopback-vlm", base_url=loopback.base_url, api_key="sk-test", max_retries=0, timeout=10,
        model_info={"vision": True, "function_calling": False, "json_output": True, "family": "unknown",
                    "structured_output": False})
    own = Image(pil.new("RGB", (1024, 1024), (200, 20, 20)))

    async def run() -> Any:
        try:
            return await client.create([
                SystemMessage(content=SYSTEM),
                UserMessage(content=["You are the character in the following image:", own, "Rules ..."],
                            source="user"),
                UserMessage(content="===round1===", source="user"),
            ])
        finally:
            await client.close()

    result = asyncio.run(run())
    assert isinstance(result.content, str) and result.content.startswith("As the proposer")
    assert result.finish_reason == "stop" and result.cached is False
    (record,) = loopback.requests
    body = record["body"]
    assert result.usage.prompt_tokens == prompt_tokens(body) and result.usage.completion_tokens > 0
    user = body["messages"][1]
    assert user["name"] == "user"  # AutoGen sends each UserMessage's source as `name`
    image_part = user["content"][1]
    assert image_part["type"] == "image_url" and image_part["image_url"]["detail"] == "auto"
    assert image_part["image_url"]["url"].startswith("data:image/png;base64,")  # re-encoded as PNG
    assert client.total_usage().prompt_tokens == result.usage.prompt_tokens
