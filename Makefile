# kuanxin: `make run` to talk to the assistant, `make test` for everything CI checks.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
RASA := $(BIN)/rasa
STAMP := $(VENV)/.kuanxin-installed
MODEL := models/kuanxin.tar.gz
TRAINING_INPUTS := config.yml domain.yml $(shell find data -type f 2>/dev/null)
export PYTHONHASHSEED := 0
export TF_CPP_MIN_LOG_LEVEL := 3
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_TELEMETRY_ENABLED := false

.PHONY: all setup browser run serve train validate lint unit test-stories e2e test evaluate bench demo clean

all: test

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/bootstrap.sh
	@scripts/bootstrap.sh

# Train only when the model is older than its inputs.
$(MODEL): $(TRAINING_INPUTS) | $(STAMP)
	$(RASA) train --config config.yml --domain domain.yml --data data --out models --fixed-model-name kuanxin
	@touch $(MODEL)

train: $(MODEL)

demo: $(STAMP)
	$(BIN)/kuanxin db demo --if-empty

run: $(MODEL) demo
	$(BIN)/kuanxin serve

lint: $(STAMP)
	$(BIN)/ruff check kuanxin actions tests bench

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

validate: $(STAMP)
	$(RASA) data validate --config config.yml --domain domain.yml --data data

test-stories: $(MODEL)
	$(RASA) test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out var/results/stories

# Browser tests drive Debian's chromium (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null || scripts/install-chromium.sh

e2e: $(MODEL) browser
	$(BIN)/pytest -q tests/e2e

# The order of the rasa-demo CI: lint, unit tests, data validation, training, story tests, then whole conversations.
test: lint unit validate train test-stories e2e

evaluate: $(STAMP)
	$(PY) -m bench.evaluate

bench: $(MODEL)
	$(PY) -m bench.load

clean:
	rm -rf models var .pytest_cache
