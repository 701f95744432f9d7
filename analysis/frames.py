"""The store as tidy pandas frames: one row per match, per turn, per proposal, per player, per
seat (`seats`: games of any seat count).

Usable from a notebook (`frames = load_run("runs/x")`) as well as from the CLI, and exportable
to CSV or Parquet (`export(frames, "out", "parquet")`) for R, Stata or a spreadsheet.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from arena.store import STORE_NAME, StoreError, StoreReader
from scenarios.errors import InputError

if TYPE_CHECKING:
    from analysis.units import RunUnits

EXPORT_FORMATS = ("csv", "parquet")
CALL_COLUMNS = frozenset({"latency_ms", "prompt_tokens", "completion_tokens", "calls", "cached",
                          "parse_ok"})  # turns' per-call bookkeeping a lean load skips

PROPOSAL_COLUMNS = ["match_id", "turn_index", "round", "speaker", "proposer", "responder", "own",
                    "opp", "claim", "offer", "accepted", "response_kind", "agent", "status",
                    "text"]


@dataclass
class RunFrames:
    matches: pd.DataFrame
    turns: pd.DataFrame
    personas: pd.DataFrame
    ratings: pd.DataFrame
    meta: dict[str, str]
    run_dir: Path | None = None
    texts: bool = True  # False: turns.text left unread (None); turn_texts reads it on demand
    stored_seats: pd.DataFrame | None = None  # the store's seats table (None: a store before it)

    @functools.cached_property
    def seats(self) -> pd.DataFrame:
        """One row per match and seat, from the store's seats table (games of any seat
        count; see `seats`)."""
        return seats(self)

    @property
    def multi_seat(self) -> bool:
        """True when some match has more than two seats (the two-seat columns are empty)."""
        s = self.stored_seats
        return s is not None and not s.empty and bool((s.groupby("match_id").size() > 2).any())

    @functools.cached_property
    def proposals(self) -> pd.DataFrame:
        """Built once per load: the summary, every model and every figure read it."""
        return proposals(self)

    @functools.cached_property
    def players(self) -> pd.DataFrame:
        return players(self)

    @functools.cached_property
    def units(self) -> "RunUnits":
        """The scenario's stake and units as the run recorded them (analysis.units)."""
        from analysis.units import run_units

        return run_units(self.meta, self.run_dir)


def store_path(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    path = run_dir / STORE_NAME if run_dir.is_dir() else run_dir
    if not path.exists():
        raise InputError(f"{run_dir}: no {STORE_NAME} here (expected a RUN_DIR made by "
                         "`persona-arena run`, `demo` or `import-paper`)")
    return path


def load_run(run_dir: Path, texts: bool = True) -> RunFrames:
    """The run's tables. `texts=False` leaves the turns' model text unread (the bulk of a
    large store: `analyze` and `report` need it only for a few transcripts, see turn_texts)
    and the per-call bookkeeping the analysis never reads (latency, tokens, cache, parse)."""
    path = store_path(run_dir)
    try:
        with StoreReader(path) as store:
            read = lambda table, **how: pd.read_sql_query(  # noqa: E731
                store.table_sql(table, **how), store.conn)
            how = {} if texts else {"leave_out": CALL_COLUMNS, "blank": ("text",)}
            frames = RunFrames(read("matches"), read("turns", **how), read("personas"),
                               read("ratings"), store.meta(), path.parent, texts,
                               read("seats") if store.has_table("seats") else None)
    except (StoreError, pd.errors.DatabaseError) as error:
        raise InputError(f"{path}: not a persona-arena store ({error})") from None
    return frames


def turn_texts(frames: RunFrames, turns: pd.DataFrame) -> pd.DataFrame:
    """`turns` (rows of frames.turns) with their text, read now if the load left it out."""
    if frames.texts or turns.empty or frames.run_dir is None:
        return turns
    ids = sorted(set(turns["match_id"]))
    with StoreReader(store_path(frames.run_dir)) as store:
        rows = store.turn_texts(ids)
    text = {(m, int(t)): x for m, t, x in rows}
    out = turns.copy()
    out["text"] = [text.get((m, int(t))) for m, t in zip(out["match_id"], out["turn_index"])]
    return out


def _ratings_wide(frames: RunFrames) -> pd.DataFrame:
    """persona_id -> one column per rater (score), so ratings can be joined to any row."""
    r = frames.ratings
    if r.empty:
        return pd.DataFrame(index=pd.Index([], name="persona_id"))
    wide = r.pivot_table(index="persona_id", columns="rater", values="score", aggfunc="first")
    wide.columns = [str(c) for c in wide.columns]
    return wide


def _join_ratings(out: pd.DataFrame, wide: pd.DataFrame, key: str, prefix: str) -> pd.DataFrame:
    if wide.empty:
        return out
    renamed = wide.add_prefix(prefix)
    return out.merge(renamed, left_on=key, right_index=True, how="left")


def proposals(frames: RunFrames) -> pd.DataFrame:
    """One row per proposal with the proposer's and responder's personas and levels, the claim,
    whether the response accepted it (a counter-offer or walk-away: 0), and the proposer's (`own_rating_<rater>`) and responder's
    (`opp_rating_<rater>`) ratings. Imported paper runs also carry the paper's own labels
    (`paper_claim`, `paper_accepted`)."""
    turns = frames.turns
    if turns.empty:
        return pd.DataFrame(columns=PROPOSAL_COLUMNS)
    is_proposal = turns["move_kind"].isin(["propose", "counter"])
    if "paper_claim" in turns.columns:  # imported paper run: keep texts our extractor missed
        is_proposal |= (turns["role"] == "proposer") & (turns["move_kind"] == "invalid")
    props = turns[is_proposal].copy()
    if "offer" not in props.columns:
        props["offer"] = None
    m = frames.matches.set_index("match_id")
    side_a = (props["speaker"] == "a").to_numpy()
    mids = props["match_id"].to_numpy()

    rows = m.index.get_indexer(mids)  # every proposal's match, found once (-1: none)
    found = rows >= 0

    def column(name: str) -> np.ndarray:
        values = m[name].to_numpy(dtype=object)
        return np.where(found, values[np.where(found, rows, 0)], None) if len(values) else \
            np.full(len(rows), None, dtype=object)

    def pick(col_a: str, col_b: str, mine: bool) -> np.ndarray:
        return np.where(side_a == mine, column(col_a), column(col_b))

    props["responder"] = pick("persona_a", "persona_b", mine=False)
    props["own"] = pick("level_a", "level_b", mine=True)
    props["opp"] = pick("level_a", "level_b", mine=False)
    props["agent"] = pick("agent_a", "agent_b", mine=True)
    if frames.multi_seat:  # no one responder: own level and the others' mean, by seat
        s = frames.seats.set_index(["match_id", "seat"])
        at = s.index.get_indexer(pd.MultiIndex.from_arrays([mids, props["speaker"].to_numpy()]))
        many = np.where(at >= 0, s["seats"].to_numpy()[np.where(at >= 0, at, 0)], 2) > 2
        for name, col in (("own", "level"), ("opp", "others_level"), ("agent", "agent")):
            values = s[col].to_numpy(dtype=object)[np.where(at >= 0, at, 0)]
            props[name] = np.where(many, values, props[name].to_numpy(dtype=object))
        props["responder"] = np.where(many, None, props["responder"].to_numpy(dtype=object))
    props["status"] = column("status")
    # the response is the next turn of the same match
    nxt = turns[["match_id", "turn_index", "accepted", "move_kind"]].copy()
    nxt["turn_index"] = nxt["turn_index"] - 1
    nxt = nxt.rename(columns={"move_kind": "response_kind"})
    extra = []
    if "paper_accepted" in turns.columns:
        nxt["paper_accepted"] = turns["paper_accepted"].to_numpy()
        extra = ["paper_claim", "paper_accepted"]
    drop = ["accepted"] + (["paper_accepted"] if "paper_accepted" in props.columns else [])
    props = props.drop(columns=drop).merge(nxt, on=["match_id", "turn_index"], how="left")
    props = props.rename(columns={"persona_id": "proposer"})
    out = props[PROPOSAL_COLUMNS + extra].copy()
    out["own"] = pd.to_numeric(out["own"], errors="coerce")
    out["opp"] = pd.to_numeric(out["opp"], errors="coerce")
    out["claim"] = pd.to_numeric(out["claim"], errors="coerce")
    out["accepted"] = pd.to_numeric(out["accepted"], errors="coerce")
    # a counter-offer or a walk-away answers a proposal too: it did not accept it (the store
    # marks only accept / reject; a bargain's answers are mostly counters)
    declined = out["accepted"].isna() & out["response_kind"].isin(DECLINING)
    out.loc[declined, "accepted"] = 0.0
    wide = _ratings_wide(frames)
    out = _join_ratings(out, wide, "proposer", "own_rating_")
    out = _join_ratings(out, wide, "responder", "opp_rating_")
    return out.reset_index(drop=True)


DECLINING = ("counter", "walk_away")  # responses that leave a proposal unaccepted
SEAT_COLUMNS = ["match_id", "seat", "seats", "persona_id", "agent", "role", "level",
                "others_level", "level_gap", "payoff", "share", "status", "deal", "agreements"]


def seats(frames: RunFrames) -> pd.DataFrame:
    """One row per match and seat, for games of any seat count: who sat there (persona, agent,
    role at the start, level), how many seats the match had, the mean level of the others at
    the table (`others_level`) and the seat's level gap (own level minus that mean: the
    quantity the groups design spreads), and the seat's payoff and share with the match's
    status, deal and agreements. Read from the store's seats table; a store written before it
    gets seats a and b from the matches table."""
    stored = frames.stored_seats
    m = frames.matches
    if stored is None or (stored.empty and not m.empty):
        parts = [pd.DataFrame({"match_id": m["match_id"], "seat": side,
                               "persona_id": m[f"persona_{side}"], "agent": m[f"agent_{side}"],
                               "role": None, "level": m[f"level_{side}"],
                               "payoff": m[f"payoff_{side}"], "share": m[f"share_{side}"]})
                 for side in ("a", "b")]
        stored = pd.concat(parts, ignore_index=True) if len(m) else pd.DataFrame(
            columns=["match_id", "seat", "persona_id", "agent", "role", "level", "payoff",
                     "share"])
    if stored.empty:
        return pd.DataFrame(columns=SEAT_COLUMNS)
    out = stored.copy()
    for column in ("level", "payoff", "share"):
        out[column] = pd.to_numeric(out[column], errors="coerce")
    by_match = out.groupby("match_id")
    out["seats"] = by_match["seat"].transform("size")
    total, known = by_match["level"].transform("sum"), by_match["level"].transform("count")
    others = known - out["level"].notna().astype(int)
    out["others_level"] = (total - out["level"].fillna(0)) / others.where(others > 0)
    out["level_gap"] = out["level"] - out["others_level"]
    info = m[["match_id", "status", "deal", "agreements"]]
    out = out.merge(info, on="match_id", how="left")
    for column in ("deal", "agreements"):
        out[column] = pd.to_numeric(out[column], errors="coerce")
    columns = SEAT_COLUMNS + (["team"] if "team" in out.columns else [])  # a game with teams
    return out[columns].sort_values(["match_id", "seat"], kind="stable").reset_index(drop=True)


def players(frames: RunFrames) -> pd.DataFrame:
    """One row per match and seat, seen from that seat: persona, own and opponent level, payoff,
    share of the pie, agreements and whether any deal was reached. The frame that deal and
    payoff models use. In a game of more than two seats there is no one opponent: `opponent`
    is empty and `opp` is the mean level of the others (see `seats`)."""
    m = frames.matches
    columns = ["match_id", "seat", "persona", "opponent", "own", "opp", "agent", "status",
               "payoff", "share", "deal", "agreements"]
    if m.empty:
        return pd.DataFrame(columns=columns)
    if frames.multi_seat:
        s = frames.seats
        out = pd.DataFrame({"match_id": s["match_id"], "seat": s["seat"],
                            "persona": s["persona_id"], "opponent": None, "own": s["level"],
                            "opp": s["others_level"], "agent": s["agent"],
                            "status": s["status"], "payoff": s["payoff"], "share": s["share"],
                            "deal": s["deal"], "agreements": s["agreements"]})
        return _join_ratings(out, _ratings_wide(frames), "persona", "own_rating_").reset_index(
            drop=True)
    parts = []
    for seat, other in (("a", "b"), ("b", "a")):
        part = pd.DataFrame({
            "match_id": m["match_id"], "seat": seat, "persona": m[f"persona_{seat}"],
            "opponent": m[f"persona_{other}"], "own": m[f"level_{seat}"],
            "opp": m[f"level_{other}"], "agent": m[f"agent_{seat}"], "status": m["status"],
            "payoff": m[f"payoff_{seat}"], "share": m[f"share_{seat}"], "deal": m["deal"],
            "agreements": m["agreements"]})
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    for column in ("own", "opp", "payoff", "share", "deal", "agreements"):
        out[column] = pd.to_numeric(out[column], errors="coerce")
    out = out.sort_values(["match_id", "seat"], kind="stable").reset_index(drop=True)
    wide = _ratings_wide(frames)
    out = _join_ratings(out, wide, "persona", "own_rating_")
    return _join_ratings(out, wide, "opponent", "opp_rating_").reset_index(drop=True)


def personas_with_traits(frames: RunFrames) -> pd.DataFrame:
    """The run's personas with the other columns of its pool's manifest.csv (the traits an
    avatar was drawn with, a source's own fields), joined where the image is still the one the
    run used (same sha256). Without the pool (moved, or an imported run), the store's columns."""
    import json

    personas = frames.personas
    try:
        pool = Path(json.loads(frames.meta.get("config", "{}"))["personas"]["pool"])
        manifest = pd.read_csv(pool / "manifest.csv", dtype=str, keep_default_na=False)
    except (KeyError, TypeError, ValueError, OSError, pd.errors.ParserError):
        return personas
    if not {"persona_id", "sha256"} <= set(manifest.columns):
        return personas
    extra = [c for c in manifest.columns if c not in personas.columns and c not in
             ("sha256",)]
    if not extra:
        return personas
    traits = manifest[["persona_id", "sha256", *extra]].drop_duplicates("persona_id")
    for column in extra:  # numbers as numbers (a score), the rest as the text it is
        try:
            traits[column] = pd.to_numeric(traits[column])
        except (ValueError, TypeError):
            pass
    out = personas.merge(traits, on="persona_id", how="left")
    stale = out["sha256"].notna() & (out["sha256"] != out["image_sha256"])
    if stale.any():  # the pool's image changed since the run: these are not its traits
        out[extra] = out[extra].astype(object)
        out.loc[stale, extra] = None
    return out.drop(columns="sha256")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _formula_safe(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (`=HYPERLINK(...)`, `+cmd`, `@SUM`)
    gets a leading apostrophe, as OWASP advises; numbers written as text (`-3.5`) stay."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its text columns neutralised for spreadsheets (CSV injection)."""
    text = [c for c in frame.columns
            if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
    if not text:
        return frame
    out = frame.copy()
    for column in text:
        out[column] = out[column].map(_formula_safe)
    return out


def export(frames: RunFrames, out_dir: Path, fmt: str = "csv") -> list[Path]:
    """Write every frame (matches, turns, proposals, players, personas, ratings) as one file
    each, so the run can be analysed outside Python; returns the paths written."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"export format {fmt!r}: expected one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError("Parquet export needs pyarrow (pip install pyarrow); "
                             "or export as csv") from None
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"{out_dir}: cannot create the export folder ({error.strerror})") from None
    tables = {"matches": frames.matches, "turns": frames.turns, "proposals": frames.proposals,
              "players": frames.players, "seats": frames.seats,
              "personas": personas_with_traits(frames), "ratings": frames.ratings}
    written = []
    for name, frame in tables.items():
        path = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            csv_safe(frame).to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        written.append(path)
    return written
