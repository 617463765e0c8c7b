# sla-processor developer entry points; `make help` lists them.
# Extra pytest arguments: make test PYTEST_ARGS='-k roundtrip -x'
# Extra broker arguments: make kafka-up KAFKA_ARGS='--port 29092 --controller-port 29093'

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-stamp
CONSTRAINTS := $(wildcard constraints.txt)
PYTEST_ARGS ?=
KAFKA_ARGS ?=
DEMO_ARGS ?=
BENCH_ARGS ?=
MUTATE_JOBS ?= 2
# The CI sample of mutants (docs/mutation.md): seed, size and the score it must keep.
MUTATE_SAMPLE ?= --seed 19 --count 160 --min-score 0.88
LOCALKAFKA := $(PY) -m processor.localkafka

.PHONY: help setup system-deps test test-chaos test-cluster test-unit lint typecheck kafka-up kafka-down kafka-status kafka-logs run mutate mutate-sample

help: ## List the targets with one-line descriptions
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-zA-Z_-]*:.*## / {printf "  %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(STAMP) system-deps ## Create .venv, install the project + dev tools (pinned), and promtool

system-deps: ## Install Debian's prometheus (promtool), prometheus-alertmanager and docker-compose if missing (needs root)
	@command -v promtool >/dev/null && command -v prometheus-alertmanager >/dev/null && command -v docker-compose >/dev/null || bash ops/scripts/install-system-deps.sh

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -n "$(PYTHON)" || { echo "error: python3.11 or python3 is needed to create $(VENV)" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e '.[dev]'
	@touch $@

test: setup ## Run the whole suite: unit, integration and chaos tests (Kafka is started by tests/conftest.py unless KAFKA_BOOTSTRAP_SERVERS is set); the three-broker scenarios are `make test-cluster`
	@$(VENV)/bin/pytest -m 'not cluster' $(PYTEST_ARGS) || { rc=$$?; [ $$rc -ne 5 ] || echo "error: pytest collected no tests (exit 5)" >&2; exit $$rc; }

test-chaos: setup ## Only the reliability scenarios (crashes, broker restart, rebalance, hostile input, SASL_SSL)
	$(VENV)/bin/pytest tests/chaos -m 'chaos and not cluster' -s $(PYTEST_ARGS)

test-cluster: setup ## Chaos on a local three-broker cluster: leader kill -9, rolling broker and worker restarts (~5 min on the 2-core machine; CI runs it after make test)
	$(VENV)/bin/pytest tests/chaos/test_cluster.py -m cluster -s $(PYTEST_ARGS)

test-unit: setup ## Run the unit tests only (no broker)
	$(VENV)/bin/pytest tests/unit -m 'not integration' $(PYTEST_ARGS)

lint: setup ## ruff check + ruff format --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

mutate: setup ## Full mutation run of the core, runtime and replay (mutmut, niced; see docs/mutation.md for its run time)
	nice -n 19 $(VENV)/bin/mutmut run --max-children $(MUTATE_JOBS)
	$(PY) -m devtools.mutation report --survivors

mutate-sample: setup ## The seeded sample of mutants CI runs: fails if its score drops below the threshold
	nice -n 19 $(PY) -m devtools.mutation sample $(MUTATE_SAMPLE) --max-children $(MUTATE_JOBS)

typecheck: setup ## mypy --strict over the processor package
	$(VENV)/bin/mypy

kafka-up: setup ## Start the local Kafka broker (127.0.0.1:19092; fetched from Maven Central on first use)
	$(LOCALKAFKA) start $(KAFKA_ARGS)

kafka-down: setup ## Stop the local Kafka broker
	$(LOCALKAFKA) stop $(KAFKA_ARGS)

kafka-status: setup ## Show whether the local broker runs, its pid, bootstrap address and log
	@$(LOCALKAFKA) status $(KAFKA_ARGS) || [ $$? -eq 3 ]

kafka-logs: setup ## Show the tail of the broker log (KAFKA_ARGS=--follow to follow)
	$(LOCALKAFKA) logs $(KAFKA_ARGS)

run: setup ## Broker (unless SLA_BOOTSTRAP_SERVERS is set) + topics + worker + demo traffic; alerts scroll by; Ctrl-C stops all
	$(PY) -m processor demo $(DEMO_ARGS)

bench: setup ## Run the benchmarks (JSON lines + summary; see BENCHMARKS.md)
	$(PY) bench/run.py $(BENCH_ARGS)
