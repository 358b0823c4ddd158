# Two commands: `make run` (set up everything and serve the demo site) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

TRANSLATIONS := registry/translations
COMPILED := $(patsubst %.po,%.mo,$(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po))

.PHONY: run test lint format browser clean translations messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## run: install, create or upgrade the SQLite database, load demo data, serve with the scheduler
run: $(STAMP) translations
	$(BIN)/mediator-registry init
	$(BIN)/mediator-registry demo
	$(BIN)/mediator-registry serve --host $(HOST) --port $(PORT)

## test: the whole suite, on SQLite and (when one answers, always under CI) PostgreSQL
test: $(STAMP) translations browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

## browser: Debian's chromium for the browser tests and poppler-utils (pdftoppm) for the
## certificate tests (installed when missing and possible)
browser:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's$$missing for the browser and certificate tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Not installed:$$missing; the tests that need them will be skipped (apt-get install$$missing)."; \
	  fi; \
	fi

## translations: compile each language's catalogue (.po) into the .mo the site reads
translations: $(COMPILED)

$(TRANSLATIONS)/%/LC_MESSAGES/messages.mo: $(TRANSLATIONS)/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --domain messages --input-file $< --output-file $@

## messages: extract the marked strings into the template and merge them into each catalogue
messages: $(STAMP)
	$(BIN)/pybabel extract --mapping-file babel.cfg --keywords _l --keywords lazy_ngettext:1,2 \
	  --sort-by-file --project "Mediator Registry" --copyright-holder "Mediator Registry" \
	  --msgid-bugs-address "" --output-file $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update --input-file $(TRANSLATIONS)/messages.pot --output-dir $(TRANSLATIONS) \
	  --no-fuzzy-matching --ignore-obsolete

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) dist build .pytest_cache .ruff_cache
