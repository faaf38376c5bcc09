# `make run` and `make test` work on a fresh clone: each sets up .venv first when needed.
PYTHON ?= python3
PORT ?= 8080
HOST ?= 127.0.0.1
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint bench clean

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)
	@echo "Unavoz on http://$(HOST):$(PORT) — look first at http://$(HOST):$(PORT)/status (the public page),"
	@echo "  /healthz (is the feed valid?) and /console (set UNAVOZ_ADMIN_TOKEN first). Edit status_feed.yaml: it is picked up within a second."
	$(BIN)/unavoz run --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	@$(BIN)/python -m tests.environment
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/feed_scale.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
