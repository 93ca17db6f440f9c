# Entry points for a fresh clone: `make run` (default England run), `make test` and
# `make explore` (the explorer in the browser).
# Both create .venv with Python 3.12 when it is missing, and (re)install the project into it
# when pyproject.toml is newer than the last install (new dependencies or commands).
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
# python3.12 on PATH, else a pyenv-installed 3.12 (the shim on PATH may not be active).
PYTHON312 := $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12; do $$p -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && echo $$p && break; done)

.PHONY: setup run test lock bench calibrate explore browser clean
PORT ?= 8765

$(PY):
	@test -n "$(PYTHON312)" || (echo "error: Python 3.12 not found (looked for python3.12 on PATH and under ~/.pyenv)"; exit 1)
	$(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# The project with every extra and its console commands (sis-run, ...; README "Commands").
$(INSTALLED): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test,distributed,explorer,slurm]'
	@touch $@

setup: $(INSTALLED)

run: setup
	$(PY) -m experiments.run run.out=results/england_default run.overwrite=true

test: setup
	$(PY) -m pytest

# The versions of everything installed in .venv, as tested: .ci/run writes it after the tests
# pass; the committed requirements-lock.txt is the one of the last CI run on a fresh clone.
# `pip install -r requirements-lock.txt -e . --no-deps` reproduces that environment.
lock: setup
	@{ echo "# Versions tested by CI (make test on a fresh clone), Python $$($(PY) -c 'import platform; print(platform.python_version())'): written by make lock"; \
	  $(PY) -m pip freeze --exclude-editable; } > requirements-lock.txt
	@echo "wrote requirements-lock.txt ($$(grep -c '==' requirements-lock.txt) packages)"

bench: setup
	$(PY) bench/bench_core.py

# The explorer on http://127.0.0.1:$(PORT)/ (prints the address; `make explore PORT=9000`).
explore: setup
	$(PY) -m explorer --host 127.0.0.1 --port $(PORT)

# Debian's Chromium for the explorer's browser tests (skipped, with the reason, without it).
browser:
	@scripts/install_chromium.sh

calibrate: setup
	$(PY) scripts/calibration_report.py --seeds 3 --write docs/CALIBRATION.md

clean:
	rm -rf $(VENV)
