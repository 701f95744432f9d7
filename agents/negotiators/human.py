"""A person at the terminal as a negotiator (`persona-arena play`).

The person types free text, read by the scenario's own extractor exactly as an LLM's reply
would be; text it cannot read is asked again, so a typo never costs a round. Input and output
are injected functions, so the negotiator itself does no I/O and tests can drive it.
"""
from __future__ import annotations

from collections.abc import Callable

from scenarios.loader import Scenario
from scenarios.moves import MoveKind, MoveRequest, Reply

HINTS = {
    "ultimatum": {"proposer": "e.g. \"I take $60 and you get $40\"",
                  "responder": "e.g. \"I accept\" or \"I reject\""},
    "price-bargain": {"": "a price (\"I offer $55\"), \"I accept\", or \"I walk away\""},
    "item-division": {"": "e.g. \"I take 2 books, 1 hats and 0 balls\", \"I accept\", or "
                          "\"I reject\""},
}


class HumanNegotiator:
    def __init__(self, scenario: Scenario, side: str, ask: Callable[[str], str],
                 show: Callable[[str], None], name: str = "human") -> None:
        self.scenario = scenario
        self.side = side
        self.ask = ask
        self.show = show
        self.name = name
        self.seen = 0

    def _hint(self, request: MoveRequest) -> str:
        hints = HINTS.get(self.scenario.game, {})
        return hints.get(request.role) or hints.get("", "")

    async def act(self, request: MoveRequest) -> Reply:
        for turn in request.history[self.seen:]:
            if turn.side != self.side:
                self.show(f"Opponent ({turn.role}, round {turn.round}): {turn.text}")
        self.seen = len(request.history)
        what = "propose" if MoveKind.PROPOSE in request.legal else \
            "/".join(sorted(k.value for k in request.legal))
        label = f"[round {request.round}, you are the {request.role}: {what}] > "
        probe = self.scenario.new_state()
        while True:
            text = self.ask(label).strip()  # EOFError ends the match (the engine records it)
            if not text:
                continue
            move = probe.read(text, request)
            why = probe.check(move, request)
            if why is None:
                return Reply(text=text)  # the engine reads the move from the text again
            self.show(f"Could not use that: {why}. Try again ({self._hint(request)}).")
