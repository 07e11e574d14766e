# Two commands do all the set-up on a fresh Debian machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: venv demo test soak bench lint clean install-udev install-units

venv: $(STAMP)

# The stamp depends on pyproject.toml, so a changed dependency list re-installs. pyscard
# builds from source on Linux: the PC/SC headers and swig are installed before pip runs.
$(STAMP): pyproject.toml scripts/bootstrap-venv.sh
	PYTHON=$(PYTHON) VENV=$(VENV) sh scripts/bootstrap-venv.sh
	sh scripts/services.sh install pcscd
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# The suite talks to real services (scripts/services/*.sh): installed with apt-get where
# missing, started privately on loopback for the run, stopped afterwards even on failure; tmux
# drives the console as a person would (tests/terminal/console/test_tmux_day.py).
test: $(STAMP)
	sh scripts/services.sh apt tmux
	sh scripts/services.sh run -- $(BIN)/python -m pytest -q

# Long runs: each fuzz target under atheris for FUZZ_SECONDS (tests/fuzz/run.py); new
# interesting inputs collect in build/fuzz/corpus/, crashes in build/fuzz/crashes/. First the
# long fault runs: kill -9 of the acquirer 20 times per store and process count.
FUZZ_SECONDS ?= 300
soak: $(STAMP)
	TAP_CRASH_KILLS=20 sh scripts/services.sh run -- $(BIN)/python -m pytest -q -p no:randomly \
		tests/acquirer/store/test_crash.py
	for target in $$($(BIN)/python -c 'from tests.fuzz.targets import TARGETS; print(*TARGETS)'); do \
		$(BIN)/python -m tests.fuzz.run $$target --seconds $(FUZZ_SECONDS) || exit 1; \
	done

# Benchmarks print figures; the reader-stack ones run through the same private pcscd.
bench: $(STAMP)
	sh scripts/services.sh apt wrk
	sh scripts/services.sh run -- $(BIN)/python -m pytest -q -s -p no:randomly tests/benchmarks

# udev rules (group plugdev may open USB NFC readers) and the kernel NFC driver blacklist
# (for nfcpy), then reload udev: run as root, e.g. `sudo make install-udev`.
install-udev:
	sh scripts/install-udev.sh

# systemd units for the acquirer and the terminal daemon, the tap user and example settings
# in /etc/tap (deploy/, README "Running as a service"): run as root.
install-units:
	sh deploy/install.sh

# ruff, mypy strict, and the layering contracts of pyproject's [tool.importlinter].
lint: $(STAMP)
	$(BIN)/ruff check emvcore terminal card_emulation acquirer tests scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
