VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean translations

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/normwacht run

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	PTB_TIMEDELTA=true $(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	PTB_TIMEDELTA=true $(PY) -m bench

# Extract the texts of the templates into the template catalog, bring every language's
# catalog up to date with it, and compile them. The compiled .mo files are committed
# (tests/messages/test_catalogs.py checks that they match their .po files).
LOCALES := messages/locale
translations: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k pgettext:1c,2 -k N_ --no-location \
		--project Normwacht --version 0.1.0 -w 100 -o $(LOCALES)/normwacht.pot .
	$(VENV)/bin/pybabel update -i $(LOCALES)/normwacht.pot -d $(LOCALES) -D normwacht \
		--no-fuzzy-matching --ignore-obsolete -w 100
	$(VENV)/bin/pybabel compile -d $(LOCALES) -D normwacht --statistics

clean:
	rm -rf $(VENV) data/*.sqlite3*
