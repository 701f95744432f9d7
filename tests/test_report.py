"""The HTML report: self-contained, escapes model text, and opens in headless Chromium showing
the avatars and figures (the screenshot is saved with the test's files and copied to
/tmp/persona-arena-report.png for a person to look at)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis.frames import load_run
from analysis.report import sample_matches, write_report
from tests.analysis_support import copy_run, demo_dir, run_cli, set_turn_text

# its module-scoped fixtures are built once: under pytest-xdist the file runs on one worker
pytestmark = pytest.mark.xdist_group("test_report")

INJECTED = "<script>alert(1)</script><script>document.title='PWNED'</script>" \
           "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\"> & \"quotes\""
SCREENSHOT_COPY = Path("/tmp/persona-arena-report.png")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """A private copy of the demo's Study 2 run with hostile model text in a shown match."""
    run = copy_run(demo_dir() / "study2", tmp_path_factory.mktemp("report") / "run")
    shown = sample_matches(load_run(run))[0]
    set_turn_text(run, shown, 0, INJECTED)
    path = write_report(run)
    return run, path, shown


def test_report_is_self_contained_and_escapes_model_text(report: tuple[Path, Path, str]) -> None:
    run, path, _ = report
    assert path == run / "report.html"
    page = path.read_text(encoding="utf-8")
    assert "<script" not in page  # no script of ours, and none smuggled in by a model
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "onerror=" not in page.replace("onerror=&quot;", "")
    # nothing is fetched: every src/url is a data: URI
    sources = re.findall(r'(?:src|href)="([^"]*)"', page) + re.findall(r"url\(([^)]*)\)", page)
    assert sources and all(s.startswith("data:") for s in sources)
    personas = len(load_run(run).personas)
    assert page.count('<figure class="avatar"><img src="data:image/png;base64,') == personas
    assert page.count('class="figure"') == 4
    for section in ("summary", "pool", "figures", "models", "transcripts"):
        assert f'id="{section}"' in page


def test_report_command_default_and_bad_input(tmp_path: Path) -> None:
    run = copy_run(demo_dir() / "study1", tmp_path / "study1")
    code, out, err = run_cli("report", str(run), "--out", str(tmp_path / "r" / "page.html"))
    assert code == 0, err
    assert (tmp_path / "r" / "page.html").stat().st_size > 10_000
    code, _, err = run_cli("report", str(tmp_path / "nothing"))
    assert code == 2 and "no arena.sqlite" in err and "Traceback" not in err


def test_report_shows_only_the_images_the_run_recorded(tmp_path: Path) -> None:
    """A hostile RUN_DIR may point `personas.image` at any file on this machine: the report
    embeds an image only when its bytes hash to the sha256 the run stored for that persona."""
    import hashlib
    import io
    import sqlite3

    from PIL import Image

    run = copy_run(demo_dir() / "study2", tmp_path / "run")
    private = tmp_path / "elsewhere" / "holiday.png"  # a user's own picture, outside any pool
    private.parent.mkdir()
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (201, 13, 77)).save(buffer, format="PNG")
    private.write_bytes(buffer.getvalue())
    digest = hashlib.sha256(private.read_bytes()).hexdigest()
    with sqlite3.connect(run / "arena.sqlite") as conn:
        (victim, image, sha), (honest, _, _) = conn.execute(
            "SELECT persona_id, image, image_sha256 FROM personas ORDER BY persona_id LIMIT 2")
        conn.execute("UPDATE personas SET image = ? WHERE persona_id = ?", (str(private), victim))
    page = write_report(run, tmp_path / "hostile.html").read_text(encoding="utf-8")

    def thumbnail_colours(page: str) -> set[tuple[int, int, int]]:
        import base64

        colours = set()
        for data in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page):
            with Image.open(io.BytesIO(base64.b64decode(data))) as img:
                colours.add(img.convert("RGB").getpixel((img.width // 2, img.height // 2)))
        return colours

    assert (201, 13, 77) not in thumbnail_colours(page)  # the private file stayed out
    victim_img = re.search(rf'<img src="(data:[^"]+)" alt="[^"]*{victim}\b', page)
    assert victim_img and victim_img.group(1).startswith("data:image/svg+xml")  # a level tile
    honest_img = re.search(rf'<img src="(data:[^"]+)" alt="[^"]*{honest}\b', page)
    assert honest_img and honest_img.group(1).startswith("data:image/png")  # untouched persona
    # the control: had the run recorded that very file, the report would show it
    with sqlite3.connect(run / "arena.sqlite") as conn:
        conn.execute("UPDATE personas SET image_sha256 = ? WHERE persona_id = ?",
                     (digest, victim))
    page = write_report(run, tmp_path / "recorded.html").read_text(encoding="utf-8")
    assert (201, 13, 77) in thumbnail_colours(page)
    assert image and sha


def _chromium() -> str | None:
    """Debian's chromium; installed once with apt-get when missing and allowed (root)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        try:
            subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True,
                           timeout=900, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
    return shutil.which("chromium")


def _run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def test_report_in_headless_chromium(report: tuple[Path, Path, str], tmp_path: Path) -> None:
    binary = _chromium()
    if binary is None:
        pytest.skip("headless Chromium not available (Debian: apt-get install -y chromium); "
                    "the report's browser check did not run")
    run, path, shown = report
    url = path.resolve().as_uri()
    dom = _run_chromium(binary, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html_dom = dom.stdout
    # avatars and figures are there as inline images
    personas = len(load_run(run).personas)
    assert len(re.findall(r'<figure class="avatar"><img src="data:image/png;base64,', html_dom)) \
        == personas
    assert len(re.findall(r'<img class="figure" alt="[^"]+" src="data:image/png;base64,',
                          html_dom)) == 4
    # the hostile text is shown as text: no script element, nothing ran
    assert "<script" not in html_dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_dom
    assert "PWNED" not in re.search(r"<title>(.*?)</title>", html_dom).group(1)
    assert "data-pwned" not in html_dom.replace("'data-pwned'", "")
    assert shown in html_dom
    # and a person can look at it
    png = tmp_path / "report.png"
    shot = _run_chromium(binary, tmp_path / "profile-shot", f"--screenshot={png}",
                         "--window-size=1280,2000", url)
    assert shot.returncode == 0 and png.is_file(), shot.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000  # not a blank page
    try:
        shutil.copyfile(png, SCREENSHOT_COPY)
    except OSError:
        pass  # a read-only /tmp only loses the convenience copy
