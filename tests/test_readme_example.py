"""The README's Python example runs as written: its code block, executed in a fresh interpreter
in a folder laid out like a checkout after `make demo` (a small pool in demo-out/pool, and
examples/my_agents.py)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT, table

MARKER = "<!-- python-api-example -->"


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(re.escape(MARKER) + r"\s*```python\n(.*?)```", text, re.S)
    assert found, f"README.md: no ```python block after {MARKER}"
    return found.group(1)


def test_the_readme_python_example_runs(tmp_path: Path, small_pool: Path) -> None:
    code = readme_example()
    assert "arena.Tournament" in code and ".run(" in code and ".analysis()" in code
    shutil.copytree(small_pool, tmp_path / "demo-out" / "pool")
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "my_agents.py", tmp_path / "examples" / "my_agents.py")
    script = tmp_path / "example.py"
    script.write_text(code)
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
           "PERSONA_ARENA_CACHE": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "392 matches planned" in result.stdout  # 14 personas, all ordered pairs, both orders
    assert "392 matches stored" in result.stdout
    assert "my_agents:LevelAwareNegotiator(gap_step=1.5)" in result.stdout
    db = tmp_path / "runs" / "notebook" / "arena.sqlite"
    assert table(db, "SELECT COUNT(*) FROM matches WHERE status = 'ok'") == [(392,)]
    assert (tmp_path / "runs" / "notebook" / "report.html").is_file()
    # run as written a second time: resume=True plays nothing and gives the same results
    again = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout == result.stdout
