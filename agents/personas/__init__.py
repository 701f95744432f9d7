"""Personas: identities with avatar images, the pools that hold them, and image raters."""
