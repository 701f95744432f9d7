"""Tokens: prompt tokens per both-images match with the paper's layout and full-size images
(1024 x 1024 avatars, sent as they are: OpenAI's high-detail rule) against the same layout with
the images downscaled (512 px) and sent at low detail, from the server's usage figures (the
loopback server counts image tokens by OpenAI's published rule for its vision models); and what
the paper's Study 2 (35 x 35 x 5 = 6,125 matches) would cost at a given price per token.
"""
from __future__ import annotations

import os
from typing import Any

from benchmarks import concurrency, llm_support
from benchmarks.support import Log

NAME = "tokens"
TITLE = "Prompt tokens per both-images match: full-size against downscaled low-detail images"
STUDY2_MATCHES = 35 * 35 * 5
# GPT-4o's list price (USD per 1M tokens, 2024-08-06 onward); override with the variables below.
PRICE_PROMPT_PER_1M = float(os.environ.get("BENCH_PRICE_PROMPT_PER_1M", "2.50"))
PRICE_COMPLETION_PER_1M = float(os.environ.get("BENCH_PRICE_COMPLETION_PER_1M", "10.00"))
FULL = {"personas": 14, "per_level": 2, "side": 1024, "small_side": 512, "matches": 28}
QUICK = {"personas": 7, "per_level": 1, "side": 64, "small_side": 32, "matches": 2}


def run(quick: bool, log: Log, ctx: dict[str, Any]) -> dict[str, Any]:
    from tests.openai_server import image_tokens, start_server_process

    size = QUICK if quick else FULL
    work = ctx["workdir"] / "tokens"
    pool = concurrency.pool(ctx, {"personas": size["personas"], "size": size["side"]})
    layouts = {"full_size": {},
               "downscaled_low_detail": {"max_image_side": size["small_side"], "detail": "low"}}
    with start_server_process(latency_ms=0, record=False, seed=1) as server:
        jobs = [{"config": llm_support.config(pool, server.base_url, 16, work / f"cache-{name}",
                                              per_level=size["per_level"], **model),
                 "run_dir": str(work / f"run-{name}"), "matches": size["matches"]}
                for name, model in layouts.items()]
        results = dict(zip(layouts, llm_support.arena_in_child(jobs)))
    out: dict[str, Any] = {"matches_each": size["matches"], "image_side": size["side"],
                           "small_side": size["small_side"],
                           "price_prompt_per_1m": PRICE_PROMPT_PER_1M,
                           "price_completion_per_1m": PRICE_COMPLETION_PER_1M,
                           "study2_matches": STUDY2_MATCHES}
    for name, r in results.items():
        prompt = r["prompt_tokens"] / r["matches"]
        completion = r["completion_tokens"] / r["matches"]
        cost = STUDY2_MATCHES * (prompt * PRICE_PROMPT_PER_1M
                                 + completion * PRICE_COMPLETION_PER_1M) / 1e6
        out[name] = {"prompt_tokens_per_match": round(prompt, 1),
                     "completion_tokens_per_match": round(completion, 1),
                     "calls_per_match": round(r["calls"] / r["matches"], 2),
                     "study2_prompt_tokens": round(prompt * STUDY2_MATCHES),
                     "study2_cost_usd": round(cost, 2), "failed": r["failed"]}
    full, small = out["full_size"], out["downscaled_low_detail"]
    out["prompt_tokens_full"] = full["prompt_tokens_per_match"]
    out["prompt_tokens_low"] = small["prompt_tokens_per_match"]
    out["reduction"] = round(1 - small["prompt_tokens_per_match"]
                             / full["prompt_tokens_per_match"], 3)
    out["image_tokens_each"] = {"full_size": image_tokens(size["side"], size["side"], "auto"),
                                "downscaled_low_detail": image_tokens(size["small_side"],
                                                                      size["small_side"], "low")}
    log(f"  prompt tokens per match: full-size {full['prompt_tokens_per_match']:,.0f}, "
        f"downscaled low-detail {small['prompt_tokens_per_match']:,.0f} "
        f"(-{out['reduction']:.0%}); Study 2 at ${PRICE_PROMPT_PER_1M}/1M prompt, "
        f"${PRICE_COMPLETION_PER_1M}/1M completion: ${full['study2_cost_usd']:,.2f} against "
        f"${small['study2_cost_usd']:,.2f}")
    return out


def markdown(r: dict[str, Any]) -> list[str]:
    rows = [(f"full size ({r['image_side']} px, high-detail rule: "
             f"{r['image_tokens_each']['full_size']} tokens an image)", r["full_size"]),
            (f"downscaled to {r['small_side']} px, detail low "
             f"({r['image_tokens_each']['downscaled_low_detail']} tokens an image)",
             r["downscaled_low_detail"])]
    lines = ["| images | prompt tokens / match | completion tokens / match | Study 2 prompt tokens "
             "| Study 2 cost |", "|---|---|---|---|---|"]
    for label, v in rows:
        lines.append(f"| {label} | {v['prompt_tokens_per_match']:,.0f} | "
                     f"{v['completion_tokens_per_match']:,.0f} | {v['study2_prompt_tokens']:,} | "
                     f"${v['study2_cost_usd']:,.2f} |")
    lines += ["", f"Downscaled low-detail images cut prompt tokens by **{r['reduction']:.0%}**. "
              f"Both-images layout of the paper: each of the 8 calls of a match resends the first "
              f"user message with both images. Study 2 = {r['study2_matches']:,} matches, priced "
              f"at ${r['price_prompt_per_1m']} per 1M prompt and ${r['price_completion_per_1m']} "
              f"per 1M completion tokens (GPT-4o's list price; set BENCH_PRICE_PROMPT_PER_1M and "
              f"BENCH_PRICE_COMPLETION_PER_1M for another). Token counts come from the loopback "
              f"server's usage figures ({r['matches_each']} matches per layout)."]
    return lines
