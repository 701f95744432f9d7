"""A plugin game that lists no offers (the example Nash demand game without `offer_space`):
the planted agent must refuse it in one line before a run starts."""
from __future__ import annotations

from typing import Literal

from demand_game import DemandSpec, NashDemand
from scenarios.game import Game


class ListlessSpec(DemandSpec):
    game: Literal["tests.listless_game:Listless"]  # type: ignore[assignment]


class Listless(NashDemand):
    name = "listless"
    Spec = ListlessSpec
    offer_space = Game.offer_space  # the interface's default: no offers listed
