"""A corpus of bad inputs through the command line: each exits 2 with one line naming the culprit,
no traceback, and leaves nothing half-written (no RUN_DIR or POOL, no staging folder).

The cases run as users run them (`tests.helpers.cli`, a fresh process each), several at a time,
in one module fixture; one parametrized test then checks each. Palette, CMYK and 16-bit images
are not bad input: they are imported, converted to 8-bit RGB. A full disk is simulated with
RLIMIT_FSIZE (writes past the limit fail with EFBIG, as on a full file system).
"""
from __future__ import annotations

import io
import os
import shutil
import socket
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import ROOT, cli, match_table, table
from tests.llm_helpers import cli_here
from tests.helpers import SURROGATE
from tests.test_run_config import write_config

# its module-scoped fixtures are built once: under pytest-xdist the file runs on one worker
pytestmark = pytest.mark.xdist_group("test_bad_input")

LLM = '''seed = 4
scenario = "ultimatum-4"
condition = "both-images"
[design]
kind = "factorial"
levels = 7
per_level = 1
[agents.default]
kind = "llm"
model = "local"
[models.local]
base_url = "{url}"
model = "loopback-vlm"
api_key_env = "BAD_INPUT_TEST_KEY"
{extra}
[execution]
progress = "none"
'''
KEY_ENV = {"BAD_INPUT_TEST_KEY": "sk-bad-input-test"}


# -- images ----------------------------------------------------------------------------------
def image_bytes(mode: str = "RGB", fmt: str = "PNG", size: tuple[int, int] = (24, 24),
                color: object = (200, 40, 40), **save: object) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format=fmt, **save)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_of_zeros(width: int, height: int, rows: int | None = None) -> bytes:
    """A 1-bit black PNG: `rows` of real (zero) data, all of them by default. 8000 x 8000 is
    64 million pixels in about 10 KB: a decompression bomb."""
    row = b"\0" * (1 + (width + 7) // 8)
    data = zlib.compress(row * (height if rows is None else rows), 9)
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", data)
            + _chunk(b"IEND", b""))


def _convert(mode: str) -> bytes:
    img = Image.new("RGB", (24, 24), (200, 40, 40))
    buf = io.BytesIO()
    img.convert(mode).save(buf, format="PNG")
    return buf.getvalue()


def sixteen_bit_png() -> bytes:
    img = Image.new("I;16", (24, 24))
    img.putpixel((0, 0), 65535)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def animated_png() -> bytes:
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="PNG", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def source(d: Path, files: dict[str, bytes]) -> Path:
    """An import source folder: one good image at level 1, plus `files` (paths under it)."""
    src = d / "src"
    (src / "1").mkdir(parents=True)
    (src / "1" / "good.png").write_bytes(image_bytes(color=(10, 120, 10)))
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    return src


def import_case(files: dict[str, bytes]) -> Callable[[Path, Path], list[str]]:
    def build(d: Path, pool: Path) -> list[str]:
        return ["avatars", "import", str(source(d, files)), "--out", str(d / "out")]
    return build


def symlinked_import(d: Path, pool: Path) -> list[str]:
    src = source(d, {})
    secret = d / "outside.png"
    secret.write_bytes(image_bytes(color=(1, 2, 3)))
    (src / "1" / "link.png").symlink_to(secret)
    return ["avatars", "import", str(src), "--out", str(d / "out")]


# -- pools and manifests -----------------------------------------------------------------------
def pool_copy(d: Path, pool: Path) -> Path:
    copy = d / "pool"
    shutil.copytree(pool, copy)
    return copy


def edit_manifest(pool: Path, edit: Callable[[list[str]], list[str]]) -> None:
    path = pool / "manifest.csv"
    path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")


def run_with_pool(edit: Callable[[Path, Path], None], body: str = SURROGATE,
                  extra: str = "") -> Callable[[Path, Path], list[str]]:
    def build(d: Path, pool: Path) -> list[str]:
        copy = pool_copy(d, pool)
        edit(d, copy)
        config = write_config(d, copy, body)
        if extra:
            config.write_text(config.read_text() + extra)
        return ["run", str(config), "--out", str(d / "out")]
    return build


def drop_column(name: str) -> Callable[[Path, Path], None]:
    def edit(d: Path, pool: Path) -> None:
        def cut(lines: list[str]) -> list[str]:
            import csv

            rows = list(csv.reader(lines))
            i = rows[0].index(name)
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows([r[:i] + r[i + 1:] for r in rows])
            return out.getvalue().splitlines()
        edit_manifest(pool, cut)
    return edit


def short_row(d: Path, pool: Path) -> None:
    edit_manifest(pool, lambda lines: lines + ["p9999,p9999.png"])


def duplicate_id(d: Path, pool: Path) -> None:
    edit_manifest(pool, lambda lines: lines[:2] + [lines[1]] + lines[2:])


def duplicate_odd_id(odd: str) -> Callable[[Path, Path], None]:
    """p0002 renamed to an id holding `odd` (an RTL override, a NUL), twice in the manifest."""
    def edit(d: Path, pool: Path) -> None:
        def change(lines: list[str]) -> list[str]:
            row = next(line for line in lines if line.startswith("p0002,"))
            renamed = f"ev{odd}il" + row[len("p0002"):]
            return [line for line in lines if line != row] + [renamed, renamed]
        edit_manifest(pool, change)
    return edit


def duplicate_image(d: Path, pool: Path) -> None:
    shutil.copy(pool / "p0001.png", pool / "twin.png")
    first = next(line for line in (pool / "manifest.csv").read_text().splitlines()
                 if line.startswith("p0001,"))
    edit_manifest(pool, lambda lines: lines + ["twin,twin.png" + first[len("p0001,p0001.png"):]])


def edited_image(d: Path, pool: Path) -> None:
    (pool / "p0003.png").write_bytes(image_bytes(size=(64, 64), color=(9, 9, 9)))


def symlink_out(d: Path, pool: Path) -> None:
    outside = d / "elsewhere.png"
    shutil.copy(pool / "p0002.png", outside)
    (pool / "p0002.png").unlink()
    (pool / "p0002.png").symlink_to(outside)


def set_level(value: str) -> Callable[[Path, Path], None]:
    """Give persona p0003 the manifest level `value`."""
    def edit(d: Path, pool: Path) -> None:
        import csv

        def change(lines: list[str]) -> list[str]:
            rows = list(csv.reader(lines))
            column = rows[0].index("level")
            for row in rows[1:]:
                if row[0] == "p0003":
                    row[column] = value
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(rows)
            return out.getvalue().splitlines()
        edit_manifest(pool, change)
    return edit


def rate_import(text: str, *extra: str) -> Callable[[Path, Path], list[str]]:
    """`rate POOL --import CSV` of a copy of the pool, the CSV holding `text`."""
    def build(d: Path, pool: Path) -> list[str]:
        copy = pool_copy(d, pool)
        (d / "scores.csv").write_text(text)
        return ["rate", str(copy), "--import", str(d / "scores.csv"), "--rater", "human", *extra]
    return build


def ratings_file(text: str) -> Callable[[Path, Path], None]:
    def make(d: Path, pool: Path) -> None:
        (d / "ratings.csv").write_text(text)
    return make


def unknown_rater_id(d: Path, pool: Path) -> None:
    (d / "ratings.csv").write_text("persona_id,rater,score\np0001,me,3\nnobody,me,99\n")


def latin1_ratings(d: Path, pool: Path) -> None:
    (d / "ratings.csv").write_bytes("persona_id,rater,score\np0001,J\xf6rg,3\n".encode("latin-1"))


def with_scale(scale: str) -> Callable[[Path, Path], list[str]]:
    """A run whose ratings file's scores lie in `scale`."""
    def build(d: Path, pool: Path) -> list[str]:
        args = with_ratings(ratings_file("persona_id,rater,score\np0001,me,3\n"))(d, pool)
        config = Path(args[1])
        config.write_text(config.read_text() + f"scale = {scale}\n")
        return args
    return build


def with_ratings(make: Callable[[Path, Path], None]) -> Callable[[Path, Path], list[str]]:
    def build(d: Path, pool: Path) -> list[str]:
        make(d, pool)
        config = write_config(d, pool, SURROGATE)
        text = config.read_text().replace('rating = "design"',
                                          f'rating = "me"\nratings_file = "{d / "ratings.csv"}"')
        config.write_text(text)
        return ["run", str(config), "--out", str(d / "out")]
    return build


# -- scenario files and configs ------------------------------------------------------------------
def scenario_file(text: str | bytes) -> Callable[[Path, Path], list[str]]:
    def build(d: Path, pool: Path) -> list[str]:
        path = d / "scenario.toml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return ["scenarios", "validate", str(path)]
    return build


def config_case(body: str | bytes, raw: bool = False,
                *flags: str) -> Callable[[Path, Path], list[str]]:
    """A run of config `body` (plus the shared pool, unless `raw`), with `flags`."""
    def build(d: Path, pool: Path) -> list[str]:
        if raw:
            path = d / "run.toml"
            path.write_bytes(body if isinstance(body, bytes) else body.encode())
        else:
            path = write_config(d, pool, body if isinstance(body, str) else body.decode())
        return ["run", str(path), "--out", str(d / "out"), *flags]
    return build


def scenario_run(scenario: str, condition: str | None = None) -> Callable[[Path, Path], list[str]]:
    """An LLM run of the scenario file `scenario` (the model is never reached)."""
    def build(d: Path, pool: Path) -> list[str]:
        (d / "game.toml").write_text(scenario)
        args = llm_case(url="http://127.0.0.1:9/v1", condition=condition)(d, pool)
        config = Path(args[1])
        config.write_text(config.read_text().replace('"ultimatum-4"', f'"{d / "game.toml"}"'))
        return args
    return build


def llm_execution(line: str) -> Callable[[Path, Path], list[str]]:
    """An LLM run with `line` in its [execution] table."""
    def build(d: Path, pool: Path) -> list[str]:
        args = llm_case()(d, pool)
        config = Path(args[1])
        config.write_text(config.read_text().replace('progress = "none"',
                                                     f'progress = "none"\n{line}'))
        return args
    return build


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def llm_case(extra: str = "", url: str | None = None,
             condition: str | None = None) -> Callable[[Path, Path], list[str]]:
    def build(d: Path, pool: Path) -> list[str]:
        body = LLM.format(url=url or f"http://127.0.0.1:{closed_port()}/v1", extra=extra)
        if condition:
            body = body.replace('condition = "both-images"', f'condition = "{condition}"')
        return ["run", str(write_config(d, pool, body)), "--out", str(d / "out")]
    return build


# -- run folders -----------------------------------------------------------------------------------
def earlier_run(d: Path, pool: Path, seed: int = 4) -> Path:
    config = write_config(d, pool, SURROGATE.replace("seed = 4", f"seed = {seed}"),
                          f"first-{seed}.toml")
    done = cli_here("run", str(config), "--out", str(d / "out"))
    assert done.returncode == 0, done.stderr
    return d / "out"


def other_config(d: Path, pool: Path) -> list[str]:
    earlier_run(d, pool, seed=5)
    return ["run", str(write_config(d, pool, SURROGATE)), "--out", str(d / "out"), "--resume"]


def not_a_store(d: Path, pool: Path) -> list[str]:
    (d / "out").mkdir()
    (d / "out" / "arena.sqlite").write_bytes(b"this is not an SQLite database" * 40)
    return ["run", str(write_config(d, pool, SURROGATE)), "--out", str(d / "out"), "--resume"]


def resume_elsewhere(d: Path, pool: Path) -> list[str]:
    (d / "out").mkdir()
    (d / "out" / "notes.txt").write_text("my notes")
    return ["run", str(write_config(d, pool, SURROGATE)), "--out", str(d / "out"), "--resume"]


def out_under_a_file(d: Path, pool: Path) -> list[str]:
    (d / "file").write_text("a file, not a folder")
    return ["run", str(write_config(d, pool, SURROGATE)), "--out", str(d / "file" / "out")]


def corrupt_analyze(d: Path, pool: Path) -> list[str]:
    (d / "run").mkdir()
    (d / "run" / "arena.sqlite").write_bytes(b"\0garbage" * 100)
    return ["analyze", str(d / "run")]


# -- the corpus --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    build: Callable[[Path, Path], list[str]]
    expect: str  # in the one line on stderr
    absent: tuple[str, ...] = ("out",)  # must not exist afterwards (under the case folder)
    unchanged: str | None = None  # an earlier RUN_DIR that must be left as it was
    env: dict[str, str] = field(default_factory=dict)
    fsize: int | None = None  # RLIMIT_FSIZE in bytes: a full disk
    hidden: str | None = None  # must not be echoed (a key)


ULTIMATUM = 'name = "x"\ngame = "ultimatum"\npie = 100\nrounds = 2\n'
DIVISION = ('name = "x"\ngame = "item-division"\nmax_turns = 4\nvalues_a = [1, 2]\n'
            'values_b = [2, 1]\n[[items]]\nname = "book"\ncount = 2\n[[items]]\n'
            'name = "{second}"\ncount = 1\n')
SWISS = SURROGATE.replace('kind = "factorial"', 'kind = "swiss"')
CONFEDERATE_TEAM = SURROGATE.replace('kind = "surrogate"', 'kind = "confederate"')
BOMB = png_of_zeros(8000, 8000)
CORPUS: dict[str, Case] = {
    # images (avatars import)
    "empty image": Case(import_case({"1/empty.png": b""}), "empty.png: empty file"),
    "truncated image": Case(import_case({"1/cut.png": image_bytes(size=(64, 64))[:120]}),
                            "cut.png: truncated or corrupt image"),
    "not an image": Case(import_case({"1/text.png": b"hello, I am text\n" * 20}),
                         "text.png: not an image"),
    "decompression bomb": Case(import_case({"2/bomb.png": BOMB}),
                               "bomb.png: image too large (8000x8000 = 64,000,000 pixels"),
    "enormous dimensions": Case(import_case({"2/huge.png": png_of_zeros(100_000, 100_000, 1)}),
                                "huge.png: image too large"),
    "unsupported format": Case(import_case({"1/gif.png": image_bytes(fmt="GIF")}),
                               "gif.png: unsupported image format GIF"),
    "animated image": Case(import_case({"1/moving.png": animated_png()}),
                           "moving.png: animated image"),
    "duplicate image": Case(import_case({"2/twin.png": image_bytes(color=(10, 120, 10))}),
                            "twin.png: the same image as"),
    "symlink out of the source": Case(symlinked_import, "link.png: symlink resolves outside"),
    "level folder not a number": Case(import_case({"angry/a.png": image_bytes()}),
                                      "angry: subfolder name is not an integer level"),
    # manifests and ratings (run)
    "manifest without sha256": Case(run_with_pool(drop_column("sha256")),
                                    "manifest.csv: missing column 'sha256'"),
    "manifest row too short": Case(run_with_pool(short_row), "expected 20 fields, found 2"),
    "manifest duplicate id": Case(run_with_pool(duplicate_id), "duplicate persona_id 'p0001'"),
    "manifest id with an RTL override": Case(run_with_pool(duplicate_odd_id("\u202e")),
                                             "manifest.csv line 15: persona_id 'ev\\u202eil' "
                                             "has unsupported characters",
                                             hidden="\u202e"),
    "manifest id with a NUL": Case(run_with_pool(duplicate_odd_id("\0")),
                                   "persona_id 'ev\\x00il'", hidden="\0"),
    "manifest duplicate image": Case(run_with_pool(duplicate_image),
                                     "is the same image (sha256) as persona 'p0001'"),
    "image changed since the manifest": Case(run_with_pool(edited_image),
                                             "sha256 mismatch for image 'p0003.png'"),
    "symlink out of the pool": Case(run_with_pool(symlink_out),
                                    "image 'p0002.png' resolves outside the pool"),
    "ratings of an unknown persona": Case(with_ratings(unknown_rater_id),
                                          "ratings.csv line 3: persona_id 'nobody' is not in "
                                          "the pool's manifest"),
    "ratings not UTF-8": Case(with_ratings(latin1_ratings), "ratings.csv: not UTF-8 text"),
    "manifest level 0": Case(run_with_pool(set_level("0")),
                             "manifest.csv line 4: level 0 is outside 1..100"),
    "manifest level -3": Case(run_with_pool(set_level("-3")),
                              "manifest.csv line 4: level -3 is outside 1..100"),
    "manifest level 99": Case(run_with_pool(set_level("99")),
                              "manifest.csv: field 'level' of persona p0003: 99 is outside "
                              "design.levels 1..7 and apart from the pool's other levels (1..7)"),
    "ratings file score nan": Case(with_ratings(ratings_file(
        "persona_id,rater,score\np0001,me,3\np0002,me,nan\n")),
        "ratings.csv line 3: score 'nan' is outside the scale 1..7"),
    "ratings file scale 1e300": Case(with_scale("[0.0, 1e300]"),
                                     "run.toml: field 'personas.scale': expected values within"),
    "ratings file extra column": Case(with_ratings(ratings_file(
        "persona_id,rater,score,note\np0001,me,3,x\n")),
        "ratings.csv: unknown column 'note' (expected persona_id, rater, score)"),
    "rate import score nan": Case(rate_import("persona_id,score\np0001,3\np0002,nan\n"),
                                  "scores.csv line 3: score 'nan' is outside the scale 1..7",
                                  absent=("pool/ratings.sqlite",)),
    "rate import score inf": Case(rate_import("persona_id,score\np0001,inf\n"),
                                  "scores.csv line 2: score 'inf' is outside the scale 1..7",
                                  absent=("pool/ratings.sqlite",)),
    "rate import score -1e9": Case(rate_import("persona_id,score\np0001,-1e9\n"),
                                   "score '-1e9' is outside the scale 1..7",
                                   absent=("pool/ratings.sqlite",)),
    "rate import score 1e300": Case(rate_import("persona_id,score\np0001,50\np0002,1e300\n",
                                                "--scale", "0..100"),
                                    "scores.csv line 3: score '1e300' is outside the scale 0..100",
                                    absent=("pool/ratings.sqlite",)),
    "rate import extra column": Case(rate_import("persona_id,score,comment\np0001,3,fine\n"),
                                     "scores.csv: unknown column 'comment' (expected "
                                     "persona_id, score and optionally rater)",
                                     absent=("pool/ratings.sqlite",)),
    "rate import bad scale": Case(rate_import("persona_id,score\np0001,3\n", "--scale", "7..1"),
                                  "--scale: expected finite LO < HI",
                                  absent=("pool/ratings.sqlite",)),
    # scenario files
    "scenario syntax error": Case(scenario_file('name = "x"\ngame = "ultimatum"\npie = [1,\n'),
                                  "scenario.toml: TOML syntax error"),
    "scenario unknown key": Case(scenario_file('name = "x"\ngame = "ultimatum"\npie = 10\n'
                                               'rounds = 2\nrules = "mine"\n'),
                                 "scenario.toml: unknown key 'rules'"),
    "scenario wrong type": Case(scenario_file('name = "x"\ngame = "ultimatum"\npie = 10\n'
                                              'rounds = "four"\n'),
                                "scenario.toml: field 'rounds'"),
    "scenario impossible prices": Case(scenario_file(
        'name = "x"\ngame = "price-bargain"\nprice_min = 50\nprice_max = 10\n'
        'buyer_reservation = 20\nseller_reservation = 20\nmax_turns = 4\n'),
        "price_max must be greater than price_min"),
    "scenario not UTF-8": Case(scenario_file(b'name = "\xff\xfe"\n'), "not UTF-8 text"),
    # values that would bend results: refused, naming the file and the field
    "scenario step larger than the pie": Case(scenario_file(ULTIMATUM + "step = 1000\n"),
                                              "scenario.toml: field 'step': 1000 must divide "
                                              "pie 100 into whole steps"),
    "scenario step not dividing the pie": Case(scenario_file(ULTIMATUM + "step = 7\n"),
                                               "field 'step': 7 must divide pie 100"),
    "scenario rounds = true": Case(scenario_file(ULTIMATUM.replace("rounds = 2", "rounds = true")),
                                   "scenario.toml: field 'rounds': Input should be a valid "
                                   "integer (got True)"),
    "scenario pie = true": Case(scenario_file(ULTIMATUM.replace("pie = 100", "pie = true")),
                                "scenario.toml: field 'pie': Input should be a valid number"),
    "scenario round_marker_to nobody": Case(scenario_file(
        ULTIMATUM + '[prompts]\nround_marker_to = "nobody"\n'),
        "scenario.toml: field 'prompts.round_marker_to': expected one of proposer, all "
        "(got 'nobody')"),
    "scenario round_marker_to variant": Case(scenario_file(
        ULTIMATUM + '[prompts]\nround_marker_to_first_none = "both"\n'),
        "field 'prompts.round_marker_to_first_none': expected one of proposer, all"),
    "scenario prompt key typo": Case(scenario_file(ULTIMATUM + '[prompts]\ninstuctions = "x"\n'),
                                     "scenario.toml: field 'prompts.instuctions': unknown prompt "
                                     "key; did you mean 'instructions'?"),
    "scenario unknown placeholder": Case(scenario_file(
        ULTIMATUM + '[prompts]\nround_marker = "{unknown}"\n'),
        "scenario.toml: field 'prompts.round_marker': unknown placeholder {unknown} "
        "(known: round;"),
    "scenario broken placeholder": Case(scenario_file(
        ULTIMATUM + '[prompts]\nround_marker = "{round==="\n'),
        "scenario.toml: field 'prompts.round_marker': bad template"),
    "scenario attribute placeholder": Case(scenario_file(
        ULTIMATUM + '[prompts]\nround_marker = "{round.__class__.__mro__}"\n'),
        "field 'prompts.round_marker': placeholder {round.__class__.__mro__} is not a plain name"),
    "scenario placeholder conversion": Case(scenario_file(
        ULTIMATUM + '[prompts]\nround_marker = "{round!r}"\n'),
        "field 'prompts.round_marker': placeholder {round!r} is not a plain name (it has a "
        "conversion"),
    "scenario placeholder huge width": Case(scenario_file(
        ULTIMATUM + '[prompts]\nround_marker = "{round:>99999999}"\n'),
        "field 'prompts.round_marker': placeholder {round:>99999999} is not a plain name"),
    "scenario placeholder of another game": Case(scenario_file(
        ULTIMATUM + '[prompts]\ninstructions_first = "Your reservation is {reservation}."\n'),
        "field 'prompts.instructions_first': unknown placeholder {reservation} (known: "
        "alternate, description, name, others, pie, role, roles, rounds, rounds_total, "),
    "scenario duplicate item names": Case(scenario_file(DIVISION.replace("{second}", "book")),
                                          "scenario.toml: field 'items.1.name': duplicate item "
                                          "name 'book'"),
    # configs
    "config duplicate key": Case(config_case("seed = 1\n" + SURROGATE),
                                 "TOML syntax error"),
    "config wrong type": Case(config_case(SURROGATE.replace("seed = 4", 'seed = "four"')),
                              "field 'seed'"),
    "config impossible levels": Case(config_case(SURROGATE.replace("levels = 7", "levels = 0")),
                                     "field 'design.levels'"),
    "config unknown condition": Case(config_case('condition = "mirror"\n' + SURROGATE),
                                     "field 'condition'"),
    "config more per level than the pool": Case(config_case(SURROGATE.replace(
        "per_level = 1", "per_level = 3")), "run.toml: field 'design.per_level': level 1 has 2 personas"),
    "config scenario file missing": Case(config_case(SURROGATE.replace(
        '"ultimatum-4"', '"nowhere/game.toml"')), "game.toml: no such scenario file"),
    "config not UTF-8": Case(config_case(b"seed = 1 # \xe9\n", raw=True), "not UTF-8 text"),
    "config is a folder": Case(lambda d, pool: ["run", str(d), "--out", str(d / "out")],
                               "is a directory"),
    "config bad prompt placeholder": Case(
        llm_case('[prompts]\nround_marker = "=== round {round} of {rounds} ==="',
                 url="http://127.0.0.1:9/v1"),
        "run.toml: field 'prompts.round_marker': unknown placeholder {rounds} (known: round",
        env=KEY_ENV),
    "config prompt key typo": Case(config_case(SURROGATE + '[prompts]\ninstuctions = "x"\n'),
                                   "run.toml: field 'prompts.instuctions': unknown prompt key"),
    "config prompt placeholder of another game": Case(config_case(
        SURROGATE + '[prompts]\ninstructions = "You may pay {reservation}."\n'),
        "run.toml: field 'prompts.instructions': unknown placeholder {reservation}"),
    "config matches in a factorial design": Case(config_case(SURROGATE.replace(
        "per_level = 1", "per_level = 1\nmatches = 5")),
        "run.toml: field 'design.matches': does not apply to kind 'factorial' (only to delta, "
        "groups)"),
    "config rounds in a factorial design": Case(config_case(SURROGATE.replace(
        "per_level = 1", "per_level = 1\nrounds = 3")),
        "field 'design.rounds': does not apply to kind 'factorial' (only to swiss)"),
    "config rounds = true": Case(config_case(SWISS.replace("per_level = 1",
                                                           "per_level = 1\nrounds = true")),
                                 "run.toml: field 'design.rounds': Input should be a valid "
                                 "integer (got True)"),
    "config repetitions = 2.0": Case(config_case(SURROGATE.replace(
        "per_level = 1", "per_level = 1\nrepetitions = 2.0")),
        "field 'design.repetitions': Input should be a valid integer (got 2.0)"),
    "config claims outside the pie": Case(config_case(
        CONFEDERATE_TEAM.replace('kind = "confederate"', 'kind = "confederate"\n'
                                 'claims = [-50.0, 1000.0]')),
        "run.toml: field 'agents.default.claims.0': claim -50 is outside 0..100"),
    "config claims above the pie": Case(config_case(
        CONFEDERATE_TEAM.replace('kind = "confederate"', 'kind = "confederate"\n'
                                 'claims = [50.0, 1000.0]')),
        "field 'agents.default.claims.1': claim 1000 is outside 0..100"),
    "swiss rounds above the personas": Case(config_case(SWISS.replace(
        "per_level = 1", "per_level = 1\nrounds = 10")),
        "run.toml: field 'design.rounds': 10 rounds for 7 personas; at most 6"),
    "swiss rounds = personas (dry run)": Case(config_case(SWISS.replace(
        "per_level = 1", "per_level = 1\nrounds = 7"), False, "--dry-run"),
        "run.toml: field 'design.rounds': 7 rounds for 7 personas; at most 6"),
    "config target of the wrong length": Case(config_case(SURROGATE.replace(
        'kind = "factorial"', 'kind = "delta"').replace("per_level = 1",
                                                         "per_level = 1\ntarget = [1.0, 2.0]")),
        "run.toml: field 'design.target': give 13 weights, one per level difference -6..6"),
    "config target all zero": Case(config_case(SURROGATE.replace(
        'kind = "factorial"', 'kind = "delta"').replace("per_level = 1",
                                                         "per_level = 1\ntarget = [" + "0.0, " * 12 + "0.0]")),
        "run.toml: field 'design.target': weights must be non-negative and not all zero"),
    "config unknown surrogate fit": Case(config_case(SURROGATE.replace(
        'kind = "surrogate"', 'kind = "surrogate"\nfit = "gpt-9"')),
        "run.toml: field 'agents.default.fit': unknown surrogate fit 'gpt-9'"),
    "config surrogate in another game": Case(config_case(SURROGATE.replace(
        '"ultimatum-4"', '"price-bargain"')),
        "run.toml: field 'agents.default.kind': 'surrogate' plays ultimatum scenarios only"),
    "config scenario without own_image": Case(scenario_run(
        ULTIMATUM + '[prompts]\ninstructions = "Split it."\n', condition="self-only"),
        "run.toml: field 'prompts.own_image': the scenario has no 'own_image' prompt"),
    "config scenario without opponent_image": Case(scenario_run(
        ULTIMATUM + '[prompts]\ninstructions = "Split."\nown_image = "You:"\n'),
        "run.toml: field 'prompts.opponent_image': the scenario has no 'opponent_image'"),
    "config claims of a surrogate": Case(config_case(SURROGATE.replace(
        'kind = "surrogate"', 'kind = "surrogate"\nclaims = [50.0]')),
        "run.toml: field 'agents.default.claims': does not apply to kind 'surrogate' "
        "(only to confederate)"),
    # models
    "model key not set": Case(llm_case(), "run.toml: field 'models.local.api_key_env': environment variable "
                                          "BAD_INPUT_TEST_KEY is not set"),
    "model unreachable": Case(llm_case(), "run.toml: field 'models.local.base_url': cannot reach", env=KEY_ENV),
    "model base_url not http": Case(llm_case(url="ftp://example.org/v1"),
                                    "run.toml: field 'models.local.base_url': expected an http(s) URL",
                                    env=KEY_ENV),
    "model without vision": Case(llm_case("vision = false"), "run.toml: field 'models.local.vision': condition "
                                                             "'both-images' sends images",
                                 env=KEY_ENV),
    "key with CR and LF": Case(llm_case(), "run.toml: field 'models.local.api_key_env': the key in environment "
                                       "variable BAD_INPUT_TEST_KEY holds a line break",
                           env={"BAD_INPUT_TEST_KEY": "sk-secret42\r\nX-Injected: 1"},
                           hidden="secret42"),
    "key non-ASCII": Case(llm_case(), "the key in environment variable BAD_INPUT_TEST_KEY "
                                      "holds a non-ASCII character (the key is not shown)",
                          env={"BAD_INPUT_TEST_KEY": "sk-s\u00e9cret42"}, hidden="cret42"),
    "key with NUL (dry run)": Case(
        lambda d, pool: llm_case()(d, pool) + ["--dry-run"],
        "the key in environment variable BAD_INPUT_TEST_KEY holds a control character",
        env={"BAD_INPUT_TEST_KEY": "sk-secret42\x01x"}, hidden="secret42"),
    "budget max_cost without prices": Case(llm_execution("max_cost = 5.0"),
                                           "run.toml: field 'execution.max_cost': needs prices "
                                           "of every model used", env=KEY_ENV),
    "budget max_calls = 0": Case(config_case(SURROGATE.replace(
        'progress = "none"', 'progress = "none"\nmax_calls = 0')),
        "run.toml: field 'execution.max_calls': Input should be greater than or equal to 1"),
    "budget max_cost = nan": Case(config_case(SURROGATE.replace(
        'progress = "none"', 'progress = "none"\nmax_cost = nan')),
        "run.toml: field 'execution.max_cost'"),
    "budget on ray": Case(config_case(SURROGATE.replace(
        'progress = "none"', 'progress = "none"\nexecutor = "ray"\nmax_calls = 10')),
        "run.toml: field 'execution.max_calls': a budget is kept by the local executor only"),
    "model timeout impossible": Case(llm_case("timeout = 0"), "models.local.timeout",
                                     env=KEY_ENV),
    # run folders
    "RUN_DIR of another config": Case(other_config, "holds a run of a different config",
                                      absent=(), unchanged="out"),
    "RUN_DIR store not a database": Case(not_a_store, "arena.sqlite: not a readable run store",
                                         absent=()),
    "resume where there is no run": Case(resume_elsewhere, "no arena.sqlite to resume",
                                         absent=("out/arena.sqlite", "out/config.json")),
    "output under a file": Case(out_under_a_file, "cannot write the run folder (Not a directory)",
                                absent=("file/out",)),
    "disk full before the store": Case(config_case(SURROGATE), "cannot write the run folder",
                                       fsize=3000),
    "analyze a damaged store": Case(corrupt_analyze, "not a persona-arena store", absent=()),
}
CONVERTED = {"palette": _convert("P"), "cmyk": image_bytes("CMYK", "JPEG", color=(0, 255, 255, 0)),
             "sixteen-bit": sixteen_bit_png()}

FSIZE_LAUNCHER = ("import os, resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN);"
                  " n = int(sys.argv[1]); resource.setrlimit(resource.RLIMIT_FSIZE, (n, n));"
                  " os.execv(sys.executable, [sys.executable, '-m', 'arena.cli', *sys.argv[2:]])")


def run_limited(fsize: int, args: list[str],
                env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`persona-arena ARGS` unable to grow any file past `fsize` bytes (EFBIG, not a signal)."""
    return subprocess.run([sys.executable, "-c", FSIZE_LAUNCHER, str(fsize), *args], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def _snapshot(run_dir: Path) -> tuple:
    db = run_dir / "arena.sqlite"
    return ((run_dir / "config.json").read_bytes(), match_table(db),
            table(db, "SELECT key, value FROM meta ORDER BY key"), sorted(os.listdir(run_dir)))


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             small_pool: Path) -> dict[str, tuple]:
    """Build every selected case (all, unless `-k` chose some), then run them, two at a time."""
    root = tmp_path_factory.mktemp("bad")
    chosen = [name for name in CORPUS if any(
        getattr(item, "callspec", None) is not None
        and item.callspec.params.get("name") == name for item in request.session.items)]
    prepared = {}
    for name in chosen:
        case = CORPUS[name]
        d = root / name.replace(" ", "-")
        d.mkdir()
        args = case.build(d, small_pool)
        before = _snapshot(d / case.unchanged) if case.unchanged else None
        env = {k: v for k, v in os.environ.items() if k != "BAD_INPUT_TEST_KEY"}
        env.update({"PERSONA_ARENA_CACHE": str(d / "cache"), **case.env})
        prepared[name] = (d, args, before, env)

    def one(name: str) -> tuple:
        d, args, before, env = prepared[name]
        case = CORPUS[name]
        if case.fsize is not None:
            return d, run_limited(case.fsize, args, env), before
        return d, cli(*args, env=env, timeout=120), before

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(chosen, pool.map(one, chosen)))


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 25


@pytest.mark.parametrize("name", list(CORPUS))
def test_bad_input_exits_2_with_one_line_and_writes_nothing(outcomes: dict[str, tuple],
                                                            name: str) -> None:
    case = CORPUS[name]
    d, result, before = outcomes[name]
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("persona-arena: error: ") and result.stderr.count("\n") == 1
    assert case.expect in result.stderr, result.stderr
    if case.hidden:
        assert case.hidden not in result.stderr + result.stdout
    for path in case.absent:
        assert not (d / path).exists(), f"{path} was left behind"
    assert not [p.name for p in d.rglob("*staging*")], "a staging folder was left behind"
    if case.unchanged:
        assert _snapshot(d / case.unchanged) == before


@pytest.mark.parametrize("kind", sorted(CONVERTED))
def test_palette_cmyk_and_16_bit_images_are_converted(tmp_path: Path, kind: str) -> None:
    suffix = ".jpg" if kind == "cmyk" else ".png"
    src = source(tmp_path, {f"3/{kind}{suffix}": CONVERTED[kind]})
    result = cli("avatars", "import", str(src), "--out", str(tmp_path / "pool"))
    assert result.returncode == 0, result.stderr
    assert "2 images imported, levels 1..3" in result.stdout
    with Image.open(tmp_path / "pool" / f"{kind}.png") as img:
        assert (img.format, img.mode) == ("PNG", "RGB")
        if kind == "sixteen-bit":
            assert img.getpixel((0, 0)) == (255, 255, 255)  # scaled to 8 bits, not clipped
        else:
            assert img.getpixel((5, 5))[0] > 180  # still red-ish
    assert cli_here("avatars", "import", str(src), "--out", str(tmp_path / "pool")).returncode == 2


def test_avatars_import_names_the_files_it_skips(tmp_path: Path) -> None:
    src = source(tmp_path, {"2/moving.gif": image_bytes(fmt="GIF"), "scan.tiff": image_bytes(
        fmt="TIFF"), "2/logo.svg": b"<svg/>", "1/ok.jpg": image_bytes(fmt="JPEG")})
    result = cli_here("avatars", "import", str(src), "--out", str(tmp_path / "pool"))
    assert result.returncode == 0 and "2 images imported" in result.stdout, result.stderr
    assert result.stderr.count("\n") == 1 and "note: 3 files skipped, not " in result.stderr
    assert "'2/logo.svg', '2/moving.gif', 'scan.tiff'" in result.stderr


def test_a_full_disk_mid_run_keeps_whole_matches_and_resumes(tmp_path: Path,
                                                             small_pool: Path) -> None:
    body = SURROGATE.replace("per_level = 1", "per_level = 2\nrepetitions = 3")
    config = write_config(tmp_path, small_pool, body)
    # room for the store's tables and a few matches (each commit adds pages to the WAL)
    full = run_limited(200_000, ["run", str(config), "--out", str(tmp_path / "out")], {})
    assert full.returncode == 2 and full.stderr.count("\n") == 1, full.stderr[-3000:]
    assert "cannot write arena.sqlite" in full.stderr and "rerun with --resume" in full.stderr
    db = tmp_path / "out" / "arena.sqlite"
    assert table(db, "PRAGMA integrity_check") == [("ok",)]
    stored = table(db, "SELECT COUNT(*) FROM matches")[0][0]
    assert 0 < stored < 14 * 14 * 3
    assert table(db, "SELECT COUNT(*) FROM matches m WHERE n_turns != "
                     "(SELECT COUNT(*) FROM turns t WHERE t.match_id = m.match_id)") == [(0,)]
    resumed = cli_here("run", str(config), "--out", str(tmp_path / "out"), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    whole = cli_here("run", str(config), "--out", str(tmp_path / "whole"))
    assert match_table(db) == match_table(tmp_path / "whole" / "arena.sqlite")


def test_a_read_only_output_folder(tmp_path: Path, small_pool: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        probe = locked / "probe"
        try:
            probe.write_text("")
        except OSError:
            pass
        else:
            probe.unlink()
            pytest.skip("running as root: a read-only folder is still writable here (the "
                        "'output under a file' case covers an unwritable --out)")
        config = write_config(tmp_path, small_pool, SURROGATE)
        result = cli("run", str(config), "--out", str(locked / "out"))
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert "cannot write the run folder (Permission denied)" in result.stderr
        assert not (locked / "out").exists()
    finally:
        locked.chmod(0o755)


def test_export_csv_neutralises_formula_cells(tmp_path: Path, small_pool: Path) -> None:
    """A manifest description a spreadsheet would run (CSV injection) is exported as text."""
    import csv

    pool = pool_copy(tmp_path, small_pool)
    texts = {"p0001": '=HYPERLINK("http://example.invalid","x")', "p0002": "+1+cmd|' /C calc'!A0",
             "p0003": "@SUM(1+1)", "p0004": "-3.5", "p0005": "-2+3+cmd|' /C calc'!A0"}

    def describe(lines: list[str]) -> list[str]:
        rows = list(csv.reader(lines))
        column = rows[0].index("description")
        for row in rows[1:]:
            row[column] = texts.get(row[0], row[column])
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        return out.getvalue().splitlines()

    edit_manifest(pool, describe)
    config = write_config(tmp_path, pool, SURROGATE)
    assert cli_here("run", str(config), "--out", str(tmp_path / "out")).returncode == 0
    done = cli_here("export", str(tmp_path / "out"), "--out", str(tmp_path / "x"))
    assert done.returncode == 0, done.stderr
    with (tmp_path / "x" / "personas.csv").open(newline="") as handle:
        got = {row["persona_id"]: row["description"] for row in csv.DictReader(handle)}
    assert got["p0001"] == "'" + texts["p0001"] and got["p0002"] == "'" + texts["p0002"]
    assert got["p0003"] == "'@SUM(1+1)" and got["p0005"] == "'" + texts["p0005"]
    assert got["p0004"] == "-3.5"  # a number stays a number
