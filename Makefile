# kuanxin: `make run` to talk to the assistant, `make check` for the fast loop (under a minute), `make test` for
# everything CI checks.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
RASA := $(BIN)/rasa
STAMP := $(VENV)/.kuanxin-installed
MODEL := models/kuanxin.tar.gz
WIDGET := widget/dist/kuanxin-chat.js
# the pipeline's own components (runtime/nlu.py: tokenizer, classifier) count as inputs too
TRAINING_INPUTS := config.yml domain.yml runtime/nlu.py runtime/colloquial_zh.yml $(shell find data -type f 2>/dev/null)
export PYTHONHASHSEED := 0
export TF_CPP_MIN_LOG_LEVEL := 3
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_TELEMETRY_ENABLED := false

.PHONY: all setup widget a11y browser nginx services run run-cluster serve train validate lint types check unit test-stories e2e \
        test-cluster test evaluate bench bench-cluster bench-scale demo clean

all: test

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/bootstrap.sh
	@scripts/bootstrap.sh

# Train only when the model is older than its inputs.
$(MODEL): $(TRAINING_INPUTS) | $(STAMP)
	$(RASA) train --config config.yml --domain domain.yml --data data --out models --fixed-model-name kuanxin
	@touch $(MODEL)

train: $(MODEL)

# The chat widget: one bundled script, rebuilt when its sources, its words (the catalogue) or locked packages change.
$(WIDGET): widget/package.json widget/package-lock.json $(wildcard widget/src/*.js) texts/zh.yml texts/en.yml policy.yml \
           | $(STAMP)
	$(BIN)/kuanxin texts widget --out widget/src/texts.json
	cd widget && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build
	@touch $(WIDGET)

widget: $(WIDGET)

# axe-core for the browser tests' accessibility audit of every console page (tests/e2e/browser/axe.py).
AXE := testkit/a11y/node_modules/axe-core/axe.min.js
$(AXE): testkit/a11y/package.json testkit/a11y/package-lock.json
	cd testkit/a11y && npm ci --no-audit --no-fund --loglevel=error
	@touch $(AXE)

a11y: $(AXE)

demo: $(STAMP)
	$(BIN)/kuanxin db demo --if-empty

run: $(MODEL) $(WIDGET) demo
	$(BIN)/kuanxin serve

lint: $(STAMP)
	$(BIN)/ruff check kuanxin actions channels runtime web tests testkit bench
	$(BIN)/lint-imports --no-cache

types: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

# The fast loop: lint, types, and the unit and action tests on both cores, on SQLite, without those marked slow
# (CLI subprocesses, real timeouts); `make test` runs those and every test again on PostgreSQL too.
check: lint types
	$(BIN)/pytest -q -p no:cacheprovider -n 2 -m "not slow and not postgresql" tests/unit

validate: $(STAMP)
	$(RASA) data validate --config config.yml --domain domain.yml --data data

test-stories: $(MODEL)
	$(RASA) test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out var/results/stories

# Browser tests drive Debian's chromium (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null && fc-list :lang=zh | grep -q . || scripts/install-debian.sh chromium fonts-wqy-microhei

nginx:
	@command -v nginx >/dev/null || PATH="$$PATH:/usr/sbin" command -v nginx >/dev/null || scripts/install-debian.sh nginx-light

# PostgreSQL and Redis of this machine, started when they are not answering.
services:
	@scripts/start-services.sh

e2e: $(MODEL) $(WIDGET) browser a11y
	$(BIN)/pytest -q tests/e2e

# Two Rasa instances (each running its actions) behind nginx, on PostgreSQL and Redis (issue 6).
test-cluster: $(MODEL) nginx services
	$(BIN)/pytest -q tests/cluster

# The order of the rasa-demo CI: lint, types, unit tests, data validation, training, story tests, then whole conversations.
test: lint types unit validate train test-stories e2e test-cluster

evaluate: $(STAMP)
	$(PY) -m bench.evaluate

bench: $(MODEL)
	$(PY) -m bench.load
	$(PY) -m bench.turns
	$(PY) -m bench.wechat
	$(PY) -m bench.reminders

# A million synthetic accounts on PostgreSQL (KUANXIN_SCALE_DATABASE_URL; an hour or more on 2 cores).
bench-scale: $(STAMP)
	$(PY) -m bench.scale

bench-cluster: $(MODEL) nginx services
	$(PY) -m bench.cluster

# The production shape on this machine: PostgreSQL, Redis, 2 Rasa instances behind nginx on :8080.
CLUSTER_ENV := KUANXIN_DATABASE_URL=$${KUANXIN_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/kuanxin} \
	KUANXIN_TRACKER_STORE_URL=$${KUANXIN_TRACKER_STORE_URL:-postgresql://postgres@127.0.0.1:5432/kuanxin_conversations} \
	KUANXIN_REDIS_URL=$${KUANXIN_REDIS_URL:-redis://127.0.0.1:6379/0}
run-cluster: $(MODEL) $(WIDGET) nginx services
	$(CLUSTER_ENV) $(BIN)/kuanxin db upgrade
	$(CLUSTER_ENV) $(BIN)/kuanxin db demo --if-empty
	$(CLUSTER_ENV) $(BIN)/kuanxin cluster --instances 2 --port 8080

clean:
	rm -rf models var .pytest_cache widget/dist widget/node_modules
