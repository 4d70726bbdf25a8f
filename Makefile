# Every target creates and uses .venv itself; nothing else needs to be installed first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo smoke test lint pytest up clean lock eval chromium

# requirements.lock pins every transitive version that was tested (regenerate: make lock).
# On a terminal pip shows its own progress; otherwise it is quiet (-q).
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	q=-q; test -t 1 && q=; $(BIN)/pip install $$q --upgrade pip && \
	  $(BIN)/pip install $$q -c requirements.lock -e '.[dev]'
	touch $(STAMP)

lock: $(STAMP)
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

demo: $(STAMP)
	$(BIN)/huntaze demo

smoke: $(STAMP)
	$(BIN)/huntaze demo --smoke

# every eval suite against the embedded local model (exit 1 when a threshold fails; files under .data/evals/)
eval: $(STAMP)
	$(BIN)/huntaze eval run --suite all

up: $(STAMP)
	$(BIN)/huntaze up

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

# The console's browser tests need Chromium: Debian's package (apt, as root), unless one is already there or
# HUNTAZE_CHROMIUM names one.
CHROMIUM ?= $(or $(HUNTAZE_CHROMIUM),$(shell command -v chromium 2>/dev/null))
chromium:
	@if [ -n "$(CHROMIUM)" ]; then echo "chromium: $(CHROMIUM)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "the console's browser tests need Chromium: apt-get install chromium (as root), or set HUNTAZE_CHROMIUM" >&2; exit 1; fi

# One worker per core, at most four: each starts its own PostgreSQL and Temporal servers (docs/testing.md).
pytest: $(STAMP) chromium
	$(BIN)/pytest -n auto --maxprocesses 4

test: lint pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
