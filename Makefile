# seg3a: the two commands are `make run` and `make test`; everything else is a step they use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SEG3A := $(VENV)/bin/seg3a
SEED ?= 42
PAIRS ?= default

export DBT_PROFILES_DIR := $(CURDIR)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: help venv reference world build run shell report test test-setup bench bench-scale bench-spark certify realism-spread clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# The C helper is compiled by the install, so a changed helper source reinstalls too.
$(VENV)/.installed: pyproject.toml requirements.lock python_udfs/_libm_vec.c
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade-strategy only-if-needed -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

venv: $(VENV)/.installed ## create the virtual environment with pinned dependencies

reference: venv ## build the reference data (skipped when already built and verified)
	$(SEG3A) reference build

world: reference ## generate the sample upstream world (SEED, PAIRS)
	$(SEG3A) world generate --seed $(SEED) --pairs $(PAIRS)

# `make build` builds the newest run; `make build SEED=7` (or RUN_ID=<id>) the newest run of
# that seed. Each run has its own DuckDB database, build/duckdb/<run_id>/seg3a.duckdb.
SELECT_RUN = $(if $(RUN_ID),SEG3A_RUN_ID=$(RUN_ID),$(if $(filter command line environment,$(origin SEED)),SEG3A_RUN_ID=$$($(SEG3A) runs --seed $(SEED) --newest || echo no-run-of-seed-$(SEED))))

build: venv ## run S0..S7 with dbt on the newest generated world (SEED or RUN_ID to pick one), then the summary
	$(SELECT_RUN) $(VENV)/bin/dbt build --select segment3a
	$(SELECT_RUN) $(SEG3A) summary

shell: venv ## DuckDB shell on the newest run (RUN_ID=<id> or SEED for another): views, spatial, run values
	$(SELECT_RUN) $(SEG3A) shell

report: venv ## one HTML page for the newest run (RUN_ID / SEED to pick one) in build/report/index.html
	$(SELECT_RUN) $(SEG3A) report --out build/report

run: world build ## the main job: reference data, sample world, full S0..S7 build

test-setup: ## system packages the tests use (headless Chromium for the report test, a JRE for the Spark target)
	tests/setup/ensure_debian_package.sh chromium chromium "the report test"
	tests/setup/ensure_debian_package.sh java openjdk-17-jre-headless "the Spark target"

test: reference test-setup ## the whole test suite
	$(PY) -m pytest

BENCHES := bench_gamma bench_world bench_s1_s2 bench_s3_s4 bench_segment bench_dbt_floor

bench: reference ## all benchmarks, one after another (JSON results in bench/results/)
	mkdir -p bench/results
	set -e; for b in $(BENCHES); do $(PY) bench/$$b.py --json bench/results/$$b.json; done

bench-scale: reference ## the scaling benchmark (3k, 100k, 1M pairs; minutes, GiBs), bench/results/bench_scale.*
	$(PY) bench/bench_scale.py

bench-spark: reference ## both targets, DuckDB and Spark, on a 100k-pair world (minutes), bench/results/bench_spark.json
	$(PY) bench/bench_spark.py

SEEDPACK_RUNS = $(foreach s,42 7 101 202,--run $$(ls -d build/seedpack/seed=$(s)/*/ | head -1))

certify: reference ## realism certification of the seedpack (42, 7, 101, 202)
	$(SEG3A) seedpack run --seeds 42 7 101 202 --out build/seedpack
	$(SEG3A) realism certify $(SEEDPACK_RUNS) --out build/certification

realism-spread: reference ## replay the seedpack's draws under 200 other fingerprints, derive the drawn-gate tolerance
	test -d build/seedpack || $(SEG3A) seedpack run --seeds 42 7 101 202 --out build/seedpack
	$(PY) -m seg3a.realism.spread $(SEEDPACK_RUNS) --replays 200 --out build/realism/spread.json

clean: ## remove generated runs and the DuckDB file (keeps the venv and reference data)
	rm -rf build/ target/ logs/
