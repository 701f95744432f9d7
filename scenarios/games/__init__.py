"""The built-in games, registered through the same registry user plugins use."""
from scenarios.games import bargain, division, job_offer, majority, ultimatum  # noqa: F401
