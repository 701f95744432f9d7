# `make demo` and `make test` each create .venv when missing, install what they need, and run.
# Every step prints one line with the seconds since make started; pip's own output goes to
# .venv/pip.log (shown when pip fails), so no wall of build warnings hides what is going on.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOG := $(VENV)/pip.log
DEMO_STAMP := $(VENV)/.installed-demo
TEST_STAMP := $(VENV)/.installed-test
T0 := $(shell date +%s)
comma := ,
TEST_EXTRAS := .[test$(comma)ray$(comma)bench]

# $(call step,TEXT): "[  12 s] TEXT"
step = printf '[%4s s] %s\n' "$$(( $$(date +%s) - $(T0) ))" "$(1)"
# $(call pip,ARGS): a quiet pip install, its output kept in the log
pip = $(BIN)/python -m pip install --no-compile --disable-pip-version-check $(1) >>$(LOG) 2>&1 \
      || { tail -n 30 $(LOG); echo "pip install failed; the whole output is in $(LOG)"; exit 1; }

.PHONY: demo test install install-test browser bench clean

$(BIN)/python:
	@$(call step,creating the virtual environment $(VENV) ($(PYTHON) -m venv))
	@$(PYTHON) -m venv $(VENV)

# the demo needs only the package itself (no extras): about a minute from a warm pip cache
$(DEMO_STAMP): $(BIN)/python pyproject.toml
	@$(call step,installing persona-arena and its dependencies (pip install -e .; log in $(LOG)))
	@$(call pip,-e .)
	@touch $@

# the tests add the test tools, Ray and NegMAS (the ray and bench extras)
$(TEST_STAMP): $(DEMO_STAMP)
	@$(call step,installing the test$(comma) ray and bench extras (pip install -e '$(TEST_EXTRAS)'))
	@$(call pip,-e '$(TEST_EXTRAS)')
	@touch $@

install: $(DEMO_STAMP)

install-test: $(TEST_STAMP)

demo: $(DEMO_STAMP)
	@$(call step,running persona-arena demo --out demo-out)
	@$(BIN)/persona-arena demo --out demo-out
	@$(call step,make demo done: open demo-out/study2/report.html)

# The report and browser tests drive Debian's headless Chromium (selenium needs its
# chromedriver); install both where missing. The tests skip with a clear message when they
# cannot be had.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then \
	  $(call step,chromium and chromedriver are installed); \
	else \
	  $(call step,installing Debian's chromium and chromium-driver (apt-get)); \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq chromium chromium-driver; } >/dev/null 2>&1 \
	  || $(call step,chromium could not be installed: the browser tests will skip); \
	fi

test: $(TEST_STAMP) browser
	@$(call step,running the test suite (pytest))
	@$(BIN)/python -m pytest -n auto --dist loadgroup
	@$(call step,make test done)

bench: $(TEST_STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf demo-out
