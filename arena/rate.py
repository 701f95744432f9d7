"""`persona-arena rate`: fill POOL/ratings.sqlite with one score per image and rater.

Model ratings use a config file's `[models.NAME]` table (and its `[cache]`); the rest of a run
config may be there or not, so one config serves both `run` and `rate`. Human (or any external)
ratings are imported from a CSV. `[personas] rating = "<rater>"` in a run config then bins
these scores into the aggressiveness levels the pairing designs use.
"""
from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.personas.rater import ImageRater, Rating, prompt_sha256, rate_all
from agents.models.config import ModelConfig
from agents.models.failures import ModelError
from arena.config import CacheConfig
from arena.personas import SCALE, check_columns, parse_score
from arena.store import Store
from scenarios.errors import InputError
from scenarios.loader import format_validation_error, load_scenario, read_toml

RATINGS_FILE = "ratings.sqlite"
PAPER_SCENARIO = "ultimatum-4"  # holds the paper's rating prompt (key "rating")


class ModelTables(BaseModel):
    """The part of a config file `rate` reads; other tables are ignored here."""

    model_config = ConfigDict(extra="ignore")

    models: dict[str, ModelConfig] = Field(default_factory=dict)
    cache: CacheConfig = CacheConfig()
    prompts: dict[str, str] = Field(default_factory=dict)


def load_model_tables(path: Path) -> tuple[ModelTables, Path]:
    data = read_toml(path, "config file")
    try:
        return ModelTables.model_validate(data), path.resolve().parent
    except ValidationError as error:
        raise InputError(format_validation_error(str(path), error)) from None


def rating_prompt(tables: ModelTables, prompt_file: Path | None) -> tuple[str, bool]:
    """(prompt, is the paper's): --prompt-file, else the config's [prompts] rating, else the
    paper's."""
    if prompt_file is not None:
        try:
            text = prompt_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise InputError(f"{prompt_file}: cannot read the prompt file ({error.strerror})") from None
        if not text:
            raise InputError(f"{prompt_file}: the prompt file is empty")
        return text, False
    paper = load_scenario(PAPER_SCENARIO).prompts["rating"]
    text = tables.prompts.get("rating", paper)
    return text, text == paper


def rate_pool(pool: Path, config_path: Path, model: str, prompt_file: Path | None = None,
              rater: str | None = None, retries: int = 2, max_tokens: int = 1) -> dict[str, Any]:
    """Rate every image of the pool not yet rated by this rater; report what happened."""
    from agents.personas.images import ImageEncoder
    from agents.personas.manifest import read_manifest
    from arena.llm_context import merged_stats, open_cache, open_models

    if retries < 0:
        raise InputError("--retries must be 0 or more")
    if max_tokens < 1:
        raise InputError("--max-tokens must be at least 1")
    tables, base = load_model_tables(config_path)
    if model not in tables.models:
        known = ", ".join(sorted(tables.models)) or "none defined"
        raise InputError(f"--model: {config_path} has no [models.{model}] table (models: {known})")
    config = tables.models[model]
    if not config.vision:
        raise InputError(f"models.{model}.vision: rating images needs a vision model, but "
                         f"[models.{model}] has vision = false")
    prompt, is_paper = rating_prompt(tables, prompt_file)
    sha = prompt_sha256(prompt)
    name = rater or (model if is_paper else f"{model}-{sha[:8]}")
    entries = read_manifest(pool)
    store = Store(pool / RATINGS_FILE)
    try:
        done = set(store.ratings(name))
        todo = [e for e in entries if e.persona_id not in done]
        cache = open_cache(tables.cache, base)
        accesses = open_models(tables.models, [model], cache, check=bool(todo))
        access = accesses[model]
        encoder = ImageEncoder()
        images = [(e.persona_id, encoder.encode(e.image, config.max_image_side, config.detail))
                  for e in todo]

        def store_one(rating: Rating) -> None:
            store.write_rating(rating.persona_id, name, rating.score, rating.raw,
                               model=config.model, prompt_sha256=sha)

        async def go() -> list[Rating]:
            try:
                return await rate_all(ImageRater(access, prompt, retries, max_tokens), images,
                                      store_one, config.concurrency)
            finally:
                await access.aclose()

        try:
            ratings = asyncio.run(go()) if images else []
        except ModelError as error:  # retries used up: what was rated (and paid) is kept
            kept = len(store.ratings(name)) - len(done)
            raise InputError(f"{error}; {kept:,} ratings of this call are stored and every "
                             "answer is in the reply cache: rerun rate to go on") from None
        stats = merged_stats(accesses, cache)
        if cache is not None:
            cache.close()
        scores = store.ratings(name)
    finally:
        store.close()
    failed = sorted(r.persona_id for r in ratings if r.score is None)
    sample = next((r.raw for r in ratings if r.score is None), None)
    return {"sample_answer": sample,
            "likely_cause": likely_cause(sample, max_tokens) if sample is not None else None,
            "pool": str(pool), "rater": name, "model": config.model, "images": len(entries),
            "rated": len(ratings) - len(failed), "skipped": len(entries) - len(todo),
            "unparseable": failed, "requests": stats["requests"],
            "cache_hits": stats["cache_hits"], "retries": stats["retries"],
            "prompt_sha256": sha, "mean_score": (sum(scores.values()) / len(scores)
                                                 if scores else None)}


def likely_cause(raw: str, max_tokens: int) -> str:
    """A guess, from an unusable answer, at why a model gave no score."""
    answer = raw.split(" | ")[-1].strip().lower()
    if not answer:
        return ("the server returned empty answers (a model that thinks before it answers "
                "needs more --max-tokens; or the server dropped the request's content)")
    if any(w in answer for w in ("cannot see", "can't see", "no image", "not see", "unable to "
                                 "view", "as a text", "i can only read")):
        return "the model does not see the image (a text-only model, or a server that drops images)"
    if any(w in answer for w in ("sorry", "cannot", "can't", "unable", "not able")):
        return "the model refuses to rate (try another prompt with --prompt-file)"
    if max_tokens <= 2:
        return (f"the answers start with words, not a digit, and --max-tokens {max_tokens} cuts "
                "them there: raise --max-tokens")
    return "the answers hold no whole number from 1 to 7 (see the sample)"


def import_ratings(pool: Path, csv_path: Path, rater: str | None,
                   scale: tuple[float, float] = SCALE) -> dict[str, Any]:
    """Import external ratings (columns persona_id, score, optionally rater) into the pool.

    Several rows for one persona and rater (several people) are averaged; `raw` keeps them.
    Every score must be a finite number on `scale`; other columns are refused."""
    from agents.personas.manifest import read_manifest

    known = {e.persona_id for e in read_manifest(pool, verify="none")}
    try:
        text = csv_path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{csv_path}: not UTF-8 text ({error.reason} at byte "
                         f"{error.start})") from None
    except OSError as error:
        raise InputError(f"{csv_path}: cannot read the ratings file ({error.strerror})") from None
    table: dict[tuple[str, str], list[float]] = {}
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        columns = check_columns(csv_path, reader.fieldnames, ("persona_id", "score"),
                                ("rater",))
        if rater is None and "rater" not in columns:
            raise InputError(f"{csv_path}: no rater column; name the rater with --rater NAME")
        for line, row in enumerate(reader, start=2):
            if None in row:
                raise InputError(f"{csv_path} line {line}: more fields than the header's columns")
            pid = (row.get("persona_id") or "").strip()
            if pid not in known:
                raise InputError(f"{csv_path} line {line}: persona_id {pid!r} is not in {pool}")
            score = parse_score(row["score"], f"{csv_path} line {line}", scale)
            who = rater or (row.get("rater") or "").strip()
            if not who:
                raise InputError(f"{csv_path} line {line}: empty rater")
            table.setdefault((pid, who), []).append(score)
    if not table:
        raise InputError(f"{csv_path}: no ratings in the file")
    with Store(pool / RATINGS_FILE) as store:
        for (pid, who), scores in table.items():
            store.write_rating(pid, who, sum(scores) / len(scores), json.dumps(scores),
                               model=f"import:{csv_path.name}")
    raters = sorted({who for _, who in table})
    return {"pool": str(pool), "raters": raters, "imported": len(table),
            "rows": sum(len(v) for v in table.values())}
