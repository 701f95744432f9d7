"""Pages and style of `persona-arena serve` (Jinja2 templates, package data)."""
