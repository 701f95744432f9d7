"""What a run's numbers are in, read from the run itself: its scenario's stake and units.

A proposal's `claim` is what the proposer asks for itself in the scenario's units. What it offers
the responder depends on the rules: `pie - claim` when a pie is split, `surplus - claim` when a
price divides the surplus between two reservation prices, and the responder's own value of the
items left to it when items are divided. The numbers come from the scenario spec the run
recorded (meta `scenario_spec`; `pie` for imported paper runs; else the scenario named in the
stored config, when it can still be loaded), never from a constant: an unknown scenario gives
no offers rather than wrong ones.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class RunUnits:
    """The scenario facts the analysis needs, and where they were read from (`source`)."""

    spec: dict[str, Any] = field(default_factory=dict)
    source: str = "unknown"

    @property
    def game(self) -> str | None:
        return self.spec.get("game")

    @property
    def units(self) -> str:
        return str(self.spec.get("units") or "units")

    @property
    def stake(self) -> float | None:
        """What one proposal divides between the two: the pie, or the surplus between the
        reservation prices; None when offers are bundles valued differently by each side."""
        if _finite(self.spec.get("pie")):
            return float(self.spec["pie"])
        buyer, seller = self.spec.get("buyer_reservation"), self.spec.get("seller_reservation")
        if _finite(buyer) and _finite(seller):
            return float(buyer) - float(seller)
        return None

    @property
    def claim_label(self) -> str:
        if _finite(self.spec.get("pie")):
            return f"claim ({self.units} of {self.stake:g})"
        if self.stake is not None:
            return f"claimed surplus ({self.units}; the surplus is {self.stake:g})"
        if "items" in self.spec:
            return "claimed value (the proposer's own valuation)"
        return "claim"

    @property
    def offer_label(self) -> str:
        if _finite(self.spec.get("pie")):
            return f"offer to the responder (pie {self.stake:g} - claim, {self.units})"
        if self.stake is not None:
            return f"responder's gain if accepted (surplus - claim, {self.units})"
        if "items" in self.spec:
            return "value to the responder of the items offered"
        return "offer to the responder"

    def offers(self, proposals: pd.DataFrame) -> pd.Series:
        """What each proposal leaves the responder, in the run's units (NaN where unknown)."""
        claim = pd.to_numeric(proposals["claim"], errors="coerce")
        if self.stake is not None:
            return self.stake - claim
        if "items" in self.spec and "offer" in proposals.columns:
            return pd.Series(_item_offers(self.spec, proposals), index=proposals.index)
        return pd.Series(math.nan, index=proposals.index, dtype=float)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def _item_offers(spec: dict[str, Any], proposals: pd.DataFrame) -> np.ndarray:
    """The responder's value of the items the proposer leaves it (`offer` is the proposer's
    own bundle, a JSON list of counts)."""
    counts = np.array([item["count"] for item in spec["items"]], dtype=float)
    values = {"a": np.array(spec.get("values_b", []), dtype=float),  # a proposes: b responds
              "b": np.array(spec.get("values_a", []), dtype=float)}
    out = np.full(len(proposals), math.nan)
    for i, (speaker, offer) in enumerate(zip(proposals["speaker"], proposals["offer"])):
        try:
            kept = np.array(json.loads(offer), dtype=float)
        except (TypeError, ValueError):
            continue
        worth = values.get(speaker)
        if worth is not None and kept.shape == counts.shape == worth.shape:
            out[i] = float(worth @ (counts - kept))
    return out


def run_units(meta: dict[str, str], run_dir: Path | None = None) -> RunUnits:
    """The run's scenario facts from its meta table (see the module docstring for the order)."""
    stored = meta.get("scenario_spec")
    if stored:
        try:
            spec = json.loads(stored)
            if isinstance(spec, dict):
                return RunUnits(spec, "the run's stored scenario")
        except ValueError:
            pass
    if _number(meta.get("pie")) is not None:
        return RunUnits({"game": "ultimatum", "pie": _number(meta["pie"]),
                         "units": meta.get("units", "dollars")}, "the run's stored pie")
    for name in _scenario_names(meta, run_dir):
        spec = _load_spec(name, meta.get("scenario"))
        if spec is not None:
            return RunUnits(spec, f"scenario {name} (loaded now: the run predates stored specs)")
    return RunUnits({}, "unknown")


def _number(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _scenario_names(meta: dict[str, str], run_dir: Path | None) -> list[str]:
    names = []
    try:
        configured = json.loads(meta.get("config") or "{}").get("scenario")
    except (ValueError, AttributeError):
        configured = None
    if isinstance(configured, str):
        names.append(configured)
        if run_dir is not None and not Path(configured).is_absolute():
            names.append(str(Path(run_dir).resolve().parent / configured))
    if meta.get("scenario"):
        names.append(meta["scenario"])
    return list(dict.fromkeys(names))


def _load_spec(name: str, expected: str | None) -> dict[str, Any] | None:
    """A scenario's spec when it loads and is the one the run recorded by name."""
    from scenarios.errors import InputError
    from scenarios.loader import load_scenario

    try:
        scenario = load_scenario(name)
    except (InputError, OSError, ValueError):
        return None
    if expected and scenario.name != expected:
        return None
    return scenario.spec.model_dump(mode="json")
