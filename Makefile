# kuanxin: `make run` to talk to the assistant, `make test` for everything CI checks.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
RASA := $(BIN)/rasa
STAMP := $(VENV)/.kuanxin-installed
MODEL := models/kuanxin.tar.gz
WIDGET := widget/dist/kuanxin-chat.js
TRAINING_INPUTS := config.yml domain.yml $(shell find data -type f 2>/dev/null)
export PYTHONHASHSEED := 0
export TF_CPP_MIN_LOG_LEVEL := 3
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_TELEMETRY_ENABLED := false

.PHONY: all setup widget browser run serve train validate lint unit test-stories e2e test evaluate bench demo clean

all: test

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/bootstrap.sh
	@scripts/bootstrap.sh

# Train only when the model is older than its inputs.
$(MODEL): $(TRAINING_INPUTS) | $(STAMP)
	$(RASA) train --config config.yml --domain domain.yml --data data --out models --fixed-model-name kuanxin
	@touch $(MODEL)

train: $(MODEL)

# The chat widget: one bundled script, rebuilt when its sources or locked packages change.
$(WIDGET): widget/package.json widget/package-lock.json $(wildcard widget/src/*.js)
	cd widget && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build
	@touch $(WIDGET)

widget: $(WIDGET)

demo: $(STAMP)
	$(BIN)/kuanxin db demo --if-empty

run: $(MODEL) $(WIDGET) demo
	$(BIN)/kuanxin serve

lint: $(STAMP)
	$(BIN)/ruff check kuanxin actions channels web tests bench

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

validate: $(STAMP)
	$(RASA) data validate --config config.yml --domain domain.yml --data data

test-stories: $(MODEL)
	$(RASA) test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out var/results/stories

# Browser tests drive Debian's chromium (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null && fc-list :lang=zh | grep -q . || scripts/install-chromium.sh

e2e: $(MODEL) $(WIDGET) browser
	$(BIN)/pytest -q tests/e2e

# The order of the rasa-demo CI: lint, unit tests, data validation, training, story tests, then whole conversations.
test: lint unit validate train test-stories e2e

evaluate: $(STAMP)
	$(PY) -m bench.evaluate

bench: $(MODEL)
	$(PY) -m bench.load

clean:
	rm -rf models var .pytest_cache widget/dist widget/node_modules
