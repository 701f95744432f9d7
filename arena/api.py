"""The Python API, for notebooks and scripts: the runs `persona-arena run` makes (the same plan,
`resume`, reply cache and executors), with the results back as pandas frames.

    import arena
    t = arena.Tournament.from_toml("examples/study2-surrogate.toml", out="runs/study2")
    result = t.run()
    result.matches.head(); result.proposals.groupby("own").claim.mean(); result.analysis()

Like the CLI, this module composes the whole project: it reaches `analysis` (lazily, when a
frame or the analysis is asked for), which the engine itself never imports.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arena.config import RunConfig, load_config, parse_config
from scenarios.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from analysis.frames import RunFrames
    from arena.tournament import RunSummary


class Tournament:
    """A checked run configuration and the folder its results go to. Nothing is read beyond
    the config until `estimate` or `run`."""

    def __init__(self, config: RunConfig, base: Path | str = ".", out: Path | str | None = None
                 ) -> None:
        self.config = config
        self.base = Path(base).resolve()  # relative paths in the config are read against it
        self.out = Path(out) if out is not None else None

    @classmethod
    def from_toml(cls, path: Path | str, out: Path | str | None = None) -> Tournament:
        """From a config file, as `persona-arena run PATH [--out OUT]` reads it (relative paths
        against the file's folder; `out` by default runs/<file name>)."""
        config, base = load_config(Path(path))
        return cls(config, base, out if out is not None else Path("runs") / Path(path).stem)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: Path | str = ".",
                  out: Path | str | None = None) -> Tournament:
        """From the config's tables as a dict (the TOML keys); relative paths against `base`."""
        return cls(parse_config(dict(data), "config"), base, out)

    def estimate(self) -> dict[str, Any]:
        """What `run --dry-run` prints: matches, and for LLM agents the calls, tokens and (with
        prices in [models.X]) the cost. Sends no request."""
        from arena.estimate import estimate
        from arena.tournament import plan_run

        plan = plan_run(self.config, self.base, check_models=False)
        return {"matches": plan.planned, "scenario": plan.scenario.name,
                "design": self.config.design.kind, "condition": self.config.condition,
                "agents": {t: plan.factory.label(t) for t in plan.factory.teams()},
                **estimate(plan)}

    def run(self, resume: bool = False, progress: str | None = None) -> Result:
        """Play every planned match into `out` (with `resume`, only those not stored yet, as
        `run --resume`); `progress` (auto, bar, plain or none) overrides [execution] progress."""
        from arena.tournament import run

        if self.out is None:
            raise InputError("out: give the run folder, e.g. Tournament.from_dict(data, "
                             "out='runs/mine')")
        if progress not in (None, "auto", "bar", "plain", "none"):
            raise InputError(f"progress: {progress!r} (expected auto, bar, plain or none)")
        summary = run(self.config, self.base, self.out, resume=resume, progress_mode=progress)
        return Result(self.out, summary)


@dataclass
class Result:
    """A run folder's results. The frames are read from its store when first asked for."""

    run_dir: Path
    summary: RunSummary | None = None  # what this call played (None: opened with open_run)
    _frames: RunFrames | None = field(default=None, repr=False)

    @property
    def frames(self) -> RunFrames:
        if self._frames is None:
            from analysis.frames import load_run

            self._frames = load_run(self.run_dir)
        return self._frames

    def reload(self) -> Result:
        """Read the store again (after a resumed run added matches)."""
        self._frames = None
        return self

    @property
    def matches(self) -> pd.DataFrame:
        """One row per match (the store's `matches` table)."""
        return self.frames.matches

    @property
    def turns(self) -> pd.DataFrame:
        """One row per turn (the store's `turns` table)."""
        return self.frames.turns

    @property
    def proposals(self) -> pd.DataFrame:
        """One row per proposal: proposer, responder, own and opponent level, claim, accepted."""
        return self.frames.proposals

    @property
    def players(self) -> pd.DataFrame:
        """One row per match and seat: persona, own and opponent level, payoff, share, deal."""
        return self.frames.players

    @property
    def seats(self) -> pd.DataFrame:
        """One row per match and seat, for games of any seat count: persona, agent, role,
        level, the others' mean level and the gap to it, payoff, share (the `seats` table)."""
        return self.frames.seats

    @property
    def personas(self) -> pd.DataFrame:
        """The run's personas, with the pool manifest's trait columns where the pool is there."""
        from analysis.frames import personas_with_traits

        return personas_with_traits(self.frames)

    @property
    def ratings(self) -> pd.DataFrame:
        return self.frames.ratings

    def counts(self) -> dict[str, Any]:
        """What `run` prints at its end: ok and failed matches, deals, invalid turns, mean
        claim and payoff by own level (plain SQL: instant on any run)."""
        from arena.results import run_results

        return run_results(self.run_dir)

    def analysis(self, effects: bool = True) -> dict[str, Any]:
        """What `persona-arena analyze --json` prints: means by own and opponent level and,
        with `effects`, the OLS and mixed-model effects of both levels on each behaviour."""
        from analysis.summary import summary_from_frames

        return summary_from_frames(self.frames, self.run_dir, effects)

    def report(self, out: Path | str | None = None) -> Path:
        """Write the self-contained HTML report (default RUN_DIR/report.html)."""
        from analysis.report import write_report

        return write_report(self.run_dir, out)

    def export(self, out: Path | str, fmt: str = "csv") -> list[Path]:
        """Write every frame as CSV or Parquet into the folder `out`."""
        from analysis.frames import export

        return export(self.frames, Path(out), fmt)


def open_run(run_dir: Path | str) -> Result:
    """The results of a run folder made earlier (by `run`, `demo` or `import-paper`)."""
    from analysis.frames import store_path

    store_path(Path(run_dir))  # one line when there is no store here
    return Result(Path(run_dir))
