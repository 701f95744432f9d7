"""The HTML report of a run, one module per idea: page (assembly and writing), markup (escaping
and formats), thumbnails (avatars, only the images the run recorded), overview (tiles and
headline), pool, plots, models, health_section, raters, transcripts; report.css is the page's
style sheet (package data)."""
from analysis.report.page import render_report, write_report
from analysis.report.transcripts import sample_matches

__all__ = ["render_report", "write_report", "sample_matches"]
