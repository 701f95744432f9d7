"""Avatar pool generation (agents.personas.avatars) and pool reading/import/validation (agents.personas.manifest, image_files, pool_import).

Pools here are tiny (n=14, 64 px) so the file runs in seconds; determinism is checked on the
bytes of every file because the paper-style experiments hash images into the results store.
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import os
import shutil
import struct
import zlib
from collections import Counter
from pathlib import Path

import pytest
import resvg_py
from PIL import Image, ImageStat

from agents.personas.avatars import (
    BACKGROUND_STAGES,
    clean_svg,
    MAX_SCORE,
    draw_pool_traits,
    draw_traits,
    generate_pool,
    level_of,
    render_svg,
)
from agents.personas.image_files import load_image_checked
from agents.personas.manifest import PoolEntry, read_manifest, write_manifest
from agents.personas.pool_import import import_pool
from scenarios.errors import InputError

# its module-scoped fixtures are built once: under pytest-xdist the file runs on one worker
pytestmark = pytest.mark.xdist_group("test_avatars")

N, LEVELS, SIZE, SEED = 14, 7, 64, 3


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[PoolEntry]]:
    out = tmp_path_factory.mktemp("gen") / "pool"
    return out, generate_pool(N, LEVELS, out, seed=SEED, size=SIZE)


@pytest.fixture
def pool_copy(pool: tuple[Path, list[PoolEntry]], tmp_path: Path) -> Path:
    """A private copy of the generated pool that a test may damage."""
    dst = tmp_path / "pool"
    shutil.copytree(pool[0], dst)
    return dst


def _edit_manifest(pool_dir: Path, edit) -> None:
    path = pool_dir / "manifest.csv"
    rows = list(csv.reader(path.open(newline="", encoding="utf-8")))
    rows = edit(rows)
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


# ----------------------------------------------------------------------------- generation

def test_same_seed_gives_identical_bytes(pool, tmp_path: Path) -> None:
    out, _ = pool
    again = generate_pool(N, LEVELS, tmp_path / "again", seed=SEED, size=SIZE)
    assert _files(out) == _files(tmp_path / "again")
    assert [e.sha256 for e in again] == [e.sha256 for e in pool[1]]


def test_workers_do_not_change_output(pool, tmp_path: Path) -> None:
    generate_pool(N, LEVELS, tmp_path / "par", seed=SEED, size=SIZE, workers=2)
    assert _files(pool[0]) == _files(tmp_path / "par")


def test_different_seed_differs(pool, tmp_path: Path) -> None:
    other = generate_pool(N, LEVELS, tmp_path / "other", seed=SEED + 1, size=SIZE)
    assert [e.sha256 for e in other] != [e.sha256 for e in pool[1]]
    assert sum(a.sha256 != b.sha256 for a, b in zip(other, pool[1])) >= N // 2


def test_no_two_avatars_look_alike() -> None:
    traits = draw_pool_traits(2000, 7, seed=11)
    assert len({t.look() for t in traits}) == 2000
    assert [t.index for t in traits] == list(range(2000))
    assert draw_pool_traits(50, 7, seed=11) == traits[:50]


def test_levels_are_spread_evenly_remainder_to_lowest() -> None:
    counts = Counter(level_of(i, 7) for i in range(5185))
    assert counts == {1: 741, 2: 741, 3: 741, 4: 741, 5: 741, 6: 740, 7: 740}
    counts = Counter(level_of(i, 7) for i in range(17))
    assert [counts[lv] for lv in range(1, 8)] == [3, 3, 3, 2, 2, 2, 2]


def test_manifest_columns_sha_and_png_size(pool) -> None:
    out, entries = pool
    with (out / "manifest.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:5] == ["persona_id", "image", "sha256", "level", "description"]
    assert [r["persona_id"] for r in rows] == [f"p{i:04d}" for i in range(1, N + 1)]
    assert Counter(int(r["level"]) for r in rows) == {lv: 2 for lv in range(1, LEVELS + 1)}
    for r in rows:
        data = (out / r["image"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == r["sha256"]
        with Image.open(io.BytesIO(data)) as im:
            assert im.format == "PNG" and im.size == (SIZE, SIZE)
        assert r["description"].startswith("A cartoon character with ")
    assert sorted(p.name for p in out.iterdir()) == sorted([r["image"] for r in rows] + ["manifest.csv"])
    # round trip through the reader, which also verifies every image
    back = read_manifest(out)
    assert back == entries
    assert all(e.image.is_absolute() and e.image.exists() for e in back)


def test_design_score_rises_with_level(pool) -> None:
    _, entries = pool
    by_level: dict[int, set[int]] = {}
    for e in entries:
        by_level.setdefault(e.level, set()).add(int(e.extra["design_score"]))
    scores = [by_level[lv] for lv in range(1, LEVELS + 1)]
    assert scores[0] == {0} and scores[-1] == {MAX_SCORE}
    assert all(max(a) < min(b) for a, b in zip(scores, scores[1:]))


def test_top_level_is_aggressive_bottom_is_soft() -> None:
    dark_reds = {h for h, _ in BACKGROUND_STAGES[-1]}
    pastels = {h for h, _ in BACKGROUND_STAGES[0]}
    patches = 0
    for i in range(40):
        top = draw_traits(SEED, i, LEVELS, LEVELS)
        svg = render_svg(top)
        assert top.eyebrows in {"angry", "angry_natural"}
        assert top.eyes == "squint"
        assert top.mouth in {"scream_open", "grimace"}
        assert top.shirt_graphic == "skull" and top.clothing == "graphic_shirt"
        assert top.background in dark_reds
        assert f'id="{top.eyebrows}_Eyebrow' in svg
        assert 'id="squint_Eyes/' in svg
        assert f'id="{top.mouth}_Mouth/' in svg
        assert 'id="skull_Clothing/Graphic/Skull"' in svg
        assert f'fill="{top.background}"' in svg
        assert "angry eyebrows" in top.description and "skull print" in top.description
        assert "dark red background" in top.description
        if top.accessory == "eyepatch":
            patches += 1
            assert 'id="eyepatch_' in svg and "an eyepatch" in top.description

        low = draw_traits(SEED, i, 1, LEVELS)
        svg = render_svg(low)
        assert low.eyebrows in {"raised_excited", "raised_excited_natural"}
        assert low.eyes == "happy" and low.mouth in {"smile", "big_smile"}
        assert low.accessory != "eyepatch" and low.shirt_graphic != "skull"
        assert low.background in pastels
        assert f'id="{low.eyebrows}_Eyebrow' in svg and 'id="happy_Eyes/' in svg
        assert "raised eyebrows" in low.description and "soft " in low.description
        # identity does not depend on the level
        assert (low.skin_color, low.top, low.hair_color) == (top.skin_color, top.top, top.hair_color)
    assert 5 <= patches <= 35  # "maybe": about half of the top level


def test_no_black_rendering(pool) -> None:
    _, entries = pool
    for e in entries:
        with Image.open(e.image) as im:
            rgb = im.convert("RGB")
        assert rgb.getpixel((0, 0)) == _rgb(e.extra["background"])
        assert rgb.getpixel((SIZE - 1, 1)) == _rgb(e.extra["background"])
        mean = ImageStat.Stat(rgb.convert("L")).mean[0]
        assert mean > 40, (e.persona_id, mean)
        assert _dark_fraction(e.image.read_bytes()) < 0.2


def _dark_fraction(png: bytes) -> float:
    with Image.open(io.BytesIO(png)) as im:
        hist = im.convert("L").histogram()
    return sum(hist[:30]) / sum(hist)


def test_empty_fill_attributes_are_removed() -> None:
    """python-avatars writes fill="" where a colour is unset; resvg paints that black."""
    t = draw_traits(0, 0, 1, 1)
    assert 'fill=""' in dataclasses.replace(t, top="hair/shaggy").avatar().render()
    assert 'fill=""' not in render_svg(dataclasses.replace(t, top="hair/shaggy"))
    raw = dataclasses.replace(t, skin_color="").avatar().render()  # unset skin -> fill=""
    assert 'id="transparent_Skin-Color" mask="url(#transparent_mask-2)" fill=""' in raw
    square = raw.replace('viewBox="0 0 264 280"', 'viewBox="-8 0 280 280"')
    black = bytes(resvg_py.svg_to_bytes(svg_string=square, width=64, height=64))
    cleaned = bytes(resvg_py.svg_to_bytes(svg_string=clean_svg(raw, "#BDE0FE"), width=64, height=64))
    assert _dark_fraction(black) > 0.15  # the face is a black blob
    assert _dark_fraction(cleaned) < 0.05


def test_generate_rejects_bad_arguments_and_nonempty_out(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--n"):
        generate_pool(0, 7, tmp_path / "x", seed=1)
    with pytest.raises(InputError, match="--levels"):
        generate_pool(3, 0, tmp_path / "x", seed=1)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="busy: folder exists and is not empty"):
        generate_pool(3, 3, busy, seed=1, size=32)
    assert _files(busy) == {"keep.txt": b"mine"}
    assert [p.name for p in tmp_path.iterdir() if "staging" in p.name] == []


# ----------------------------------------------------------------------------- import

def _png_bytes(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_import_pool_levels_and_conversions(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for lv in ("1", "2", "3"):
        (src / lv).mkdir(parents=True)
    Image.new("RGB", (40, 30), (10, 200, 30)).save(src / "1" / "calm.png")
    Image.new("RGB", (40, 30), (10, 20, 30)).convert("P", palette=Image.Palette.ADAPTIVE).save(src / "1" / "pal.png")
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(src / "2" / "cmyk.jpg", "JPEG")
    sixteen = Image.new("I;16", (20, 20))
    sixteen.putpixel((0, 0), 65535)
    sixteen.putpixel((1, 0), 32896)
    sixteen.save(src / "3" / "deep.png")
    Image.new("RGBA", (24, 24), (255, 0, 0, 128)).save(src / "3" / "alpha.webp", "WEBP", lossless=True)
    Image.new("RGB", (16, 16), "white").save(src / "2" / "calm.png")  # stem collides with 1/calm
    Image.new("RGB", (16, 16), "blue").save(src / "loose.jpg", "JPEG")  # no level folder
    (src / "notes.txt").write_text("ignored")

    entries = import_pool(src, tmp_path / "pool")
    by_id = {e.persona_id: e for e in entries}
    assert set(by_id) == {"1_calm", "2_calm", "pal", "cmyk", "deep", "alpha", "loose"}
    assert {k: v.level for k, v in by_id.items()} == {
        "1_calm": 1, "pal": 1, "2_calm": 2, "cmyk": 2, "deep": 3, "alpha": 3, "loose": None}
    modes = {}
    for e in entries:
        assert e.image.parent == (tmp_path / "pool").resolve()
        assert hashlib.sha256(e.image.read_bytes()).hexdigest() == e.sha256
        with Image.open(e.image) as im:
            modes[e.persona_id] = (im.format, im.mode)
    assert modes["pal"] == ("PNG", "RGB")
    assert modes["cmyk"] == ("PNG", "RGB")
    assert modes["deep"] == ("PNG", "RGB")
    assert modes["alpha"] == ("PNG", "RGBA")
    assert modes["loose"] == ("JPEG", "RGB")  # already RGB: copied verbatim
    assert by_id["loose"].sha256 == hashlib.sha256((src / "loose.jpg").read_bytes()).hexdigest()
    with Image.open(by_id["deep"].image) as im:
        assert im.getpixel((0, 0)) == (255, 255, 255) and im.getpixel((1, 0)) == (128, 128, 128)
    with Image.open(by_id["cmyk"].image) as im:
        r, g, b = im.getpixel((5, 5))
        assert r > 200 and g < 60 and b < 60
    assert read_manifest(tmp_path / "pool") == entries


def test_import_errors_name_the_culprit(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nowhere: source folder not found"):
        import_pool(tmp_path / "nowhere", tmp_path / "out")
    src = tmp_path / "src"
    (src / "angry").mkdir(parents=True)
    with pytest.raises(InputError, match="angry: subfolder name is not an integer level"):
        import_pool(src, tmp_path / "out")
    shutil.rmtree(src / "angry")
    (src / "1").mkdir()
    Image.new("RGB", (8, 8)).save(src / "1" / "ok.png")
    (src / "1" / "fake.png").write_text("hello, I am text")
    with pytest.raises(InputError, match=r"fake\.png: not an image \(cannot identify image file\)"):
        import_pool(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written
    assert [p.name for p in tmp_path.iterdir() if "staging" in p.name] == []


# ----------------------------------------------------------------------------- validation

def test_missing_pool_and_manifest(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope: pool folder not found"):
        read_manifest(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"empty/manifest\.csv: manifest not found"):
        read_manifest(tmp_path / "empty")


def test_missing_column(pool_copy: Path) -> None:
    _edit_manifest(pool_copy, lambda rows: [[c for i, c in enumerate(r) if i != 2] for r in rows])
    with pytest.raises(InputError) as exc:
        read_manifest(pool_copy)
    assert "manifest.csv: missing column 'sha256' (expected persona_id, image, sha256, level)" in str(exc.value)


def test_image_outside_pool(pool_copy: Path) -> None:
    def edit(rows):
        rows[3][1] = "../x.png"
        return rows
    _edit_manifest(pool_copy, edit)
    with pytest.raises(InputError, match=r"manifest\.csv line 4: image '\.\./x\.png' is outside the pool"):
        read_manifest(pool_copy)


def test_symlink_outside_pool_refused(pool_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.png"
    Image.new("RGB", (8, 8)).save(outside)
    target = pool_copy / "p0003.png"
    target.unlink()
    target.symlink_to(outside)
    with pytest.raises(InputError, match="outside the pool"):
        read_manifest(pool_copy)
    with pytest.raises(InputError, match=r"p0003\.png: symlink resolves outside the pool"):
        load_image_checked(target, pool_copy)


def test_not_an_image_empty_and_truncated(pool_copy: Path) -> None:
    p3 = pool_copy / "p0003.png"
    good = p3.read_bytes()
    p3.write_text("not a png at all")
    with pytest.raises(InputError, match=r"p0003\.png: not an image \(cannot identify image file\)"):
        read_manifest(pool_copy)
    p3.write_bytes(b"")
    with pytest.raises(InputError, match=r"p0003\.png: empty file"):
        read_manifest(pool_copy)
    p3.write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError, match=r"p0003\.png: truncated or corrupt image"):
        read_manifest(pool_copy)
    with pytest.raises(InputError, match=r"line 4: sha256 mismatch for image 'p0003\.png'"):
        read_manifest(pool_copy, verify="hash")
    assert len(read_manifest(pool_copy, verify="none")) == N


def test_sha_mismatch_duplicate_id_and_bad_level(pool_copy: Path) -> None:
    original = (pool_copy / "manifest.csv").read_text(encoding="utf-8")

    def bad_sha(rows):
        rows[2][2] = "0" * 64
        return rows
    _edit_manifest(pool_copy, bad_sha)
    with pytest.raises(InputError, match=r"line 3: sha256 mismatch for image 'p0002\.png'"):
        read_manifest(pool_copy)

    (pool_copy / "manifest.csv").write_text(original, encoding="utf-8")

    def dup(rows):
        rows[5][0] = rows[1][0]
        return rows
    _edit_manifest(pool_copy, dup)
    with pytest.raises(InputError, match=r"line 6: duplicate persona_id 'p0001' \(first on line 2\)"):
        read_manifest(pool_copy)

    (pool_copy / "manifest.csv").write_text(original, encoding="utf-8")

    def level(rows):
        rows[4][3] = "high"
        return rows
    _edit_manifest(pool_copy, level)
    with pytest.raises(InputError, match=r"line 5: level 'high' is not an integer"):
        read_manifest(pool_copy)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions: a few bytes on disk, gigabytes once decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_decompression_bombs_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header_only(100_000, 100_000))  # over Pillow's own bomb limit
    with pytest.raises(InputError, match=r"bomb\.png: image too large"):
        load_image_checked(bomb, tmp_path)
    bomb.write_bytes(_png_header_only(8_000, 6_000))  # 48 MP: under Pillow's limit, over ours
    with pytest.raises(InputError, match=r"bomb\.png: image too large \(8000x6000"):
        load_image_checked(bomb, tmp_path)
    small = tmp_path / "small.png"
    Image.new("RGB", (20, 20)).save(small)
    with pytest.raises(InputError, match="small.png: image too large"):
        load_image_checked(small, tmp_path, max_pixels=100)
    info = load_image_checked(small, tmp_path)
    assert (info.format, info.mode, info.width, info.height) == ("PNG", "RGB", 20, 20)


def test_write_manifest_is_atomic_and_round_trips(pool, tmp_path: Path) -> None:
    out, entries = pool
    dst = tmp_path / "copy"
    shutil.copytree(out, dst)
    moved = [
        PoolEntry(e.persona_id, dst / e.image.name, e.sha256, e.level, e.description, {"note": "x"})
        for e in entries
    ]
    write_manifest(dst, moved)
    assert not [p for p in os.listdir(dst) if p.startswith(".manifest")]
    back = read_manifest(dst)
    assert [(e.persona_id, e.level, e.extra) for e in back] == [(e.persona_id, e.level, {"note": "x"}) for e in moved]


def test_a_pool_check_memo_skips_unchanged_images_and_catches_any_rewrite(
        tmp_path: Path, small_pool: Path) -> None:
    """Images that passed the full check are not decoded again while their file is untouched;
    a rewrite, even one that keeps the size and puts the modification time back, is checked."""
    import os
    import shutil

    from agents.personas.check_memo import ImageChecks

    pool = tmp_path / "pool"
    shutil.copytree(small_pool, pool)
    n = len(read_manifest(pool))

    def check() -> int:
        memo = ImageChecks(tmp_path / "memo")
        try:
            read_manifest(pool, checks=memo)
        finally:
            memo.close()
        return memo.hits

    assert check() == 0 and check() == n  # a new process (a new memo) trusts the record
    victim = sorted(pool.glob("*.png"))[0]
    data, st = victim.read_bytes(), victim.stat()
    corrupt = data[:-40] + bytes(40)  # same size, broken end
    victim.write_bytes(corrupt)
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))  # the modification time put back
    with pytest.raises(InputError, match=f"{victim.name}"):
        check()
    victim.write_bytes(data)
    assert check() == n - 1  # the restored file is checked again, the others are not
    assert check() == n
    # a memo that cannot be written is no memo: every image is checked, nothing fails
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the memo's folder should be")
    memo = ImageChecks(blocked)
    assert memo.conn is None
    read_manifest(pool, checks=memo)
    memo.close()
