# Two entry points for a fresh clone: `make run` (default England run) and `make test`.
# Both create .venv with Python 3.12 when it is missing.
VENV := .venv
PY := $(VENV)/bin/python
# python3.12 on PATH, else a pyenv-installed 3.12 (the shim on PATH may not be active).
PYTHON312 := $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12; do $$p -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && echo $$p && break; done)

.PHONY: setup run test lock bench calibrate clean

$(PY):
	@test -n "$(PYTHON312)" || (echo "error: Python 3.12 not found (looked for python3.12 on PATH and under ~/.pyenv)"; exit 1)
	$(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,distributed]'

setup: $(PY)

run: $(PY)
	$(PY) -m experiments.run run.out=results/england_default run.overwrite=true

test: $(PY)
	$(PY) -m pytest

# The versions of everything installed in .venv, as tested: .ci/run writes it after the tests
# pass; the committed requirements-lock.txt is the one of the last CI run on a fresh clone.
# `pip install -r requirements-lock.txt -e . --no-deps` reproduces that environment.
lock: $(PY)
	@{ echo "# Versions tested by CI (make test on a fresh clone), Python $$($(PY) -c 'import platform; print(platform.python_version())'): written by make lock"; \
	  $(PY) -m pip freeze --exclude-editable; } > requirements-lock.txt
	@echo "wrote requirements-lock.txt ($$(grep -c '==' requirements-lock.txt) packages)"

bench: $(PY)
	$(PY) bench/bench_core.py

calibrate: $(PY)
	$(PY) scripts/calibration_report.py --seeds 3 --write docs/CALIBRATION.md

clean:
	rm -rf $(VENV)
