# Two commands do all the set-up on a fresh Debian machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: venv demo test bench lint clean

venv: $(STAMP)

# The stamp depends on pyproject.toml, so a changed dependency list re-installs.
$(STAMP): pyproject.toml scripts/bootstrap-venv.sh
	PYTHON=$(PYTHON) VENV=$(VENV) sh scripts/bootstrap-venv.sh
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# The suite talks to real services (scripts/services/*.sh): installed with apt-get where
# missing, started privately on loopback for the run, stopped afterwards even on failure.
test: $(STAMP)
	sh scripts/services.sh run -- $(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m pytest -q -s -p no:randomly tests/benchmarks

lint: $(STAMP)
	$(BIN)/ruff check emvcore terminal card_emulation acquirer tests scripts
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
