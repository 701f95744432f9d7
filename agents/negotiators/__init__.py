"""Negotiators: what plays a seat (an LLM, a fitted surrogate, scripts, tactics, a person)."""
