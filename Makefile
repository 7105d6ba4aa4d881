# Two commands do everything on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export DATABASE_URL ?= sqlite:///./sroi.db

.PHONY: run test install bench load lint typecheck fixtures clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Creates/migrates the database, loads the fixtures once (keeps your data after),
# creates one demo account per role and serves on http://$(HOST):$(PORT).
# WORKERS processes: one per core on PostgreSQL, one on SQLite (one writer at a time:
# more processes would only queue on its write lock; see README "Running"). Every process
# shares the rate limiter and cache invalidation through the database or Redis
# (api/shared_state.py). WEB_THREADS handler threads each (default 8), keep-alive 30 s.
WORKERS ?= $(if $(filter sqlite%,$(DATABASE_URL)),1,$(shell nproc 2>/dev/null || echo 1))
JOBS_INLINE ?= $(if $(filter sqlite%,$(DATABASE_URL)),true,false)
run: $(STAMP)
	@# A random SECRET_KEY in .env (gitignored), written once: the served app refuses the
	@# public default (api/settings.py check_serving).
	@grep -qs '^SECRET_KEY=' .env || { printf '\nSECRET_KEY=%s\n' "$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))')" >> .env && echo "wrote a random SECRET_KEY to .env"; }
	$(BIN)/sroi load-fixtures
	$(BIN)/sroi demo-users
	@echo "Serving on http://$(HOST):$(PORT) with $(WORKERS) web worker(s)  (Ctrl-C to stop)"
	@# Background jobs (imports, ledger uploads, allocation, learning, batch ranking: the job
	@# queue, api/services/job_queue.py). SQLite: consumed inside the one web process
	@# (JOBS_INLINE), so a running job's progress shows on its page (SQLite lets no other
	@# process read it while the job writes). PostgreSQL: one `sroi worker` beside the web
	@# workers; it stops with the server.
	@if [ "$(JOBS_INLINE)" = true ]; then \
		JOBS_INLINE=true $(BIN)/uvicorn api.app:app --host $(HOST) --port $(PORT) \
			--timeout-keep-alive 30 --workers $(WORKERS); \
	else \
		$(BIN)/sroi worker & trap 'kill $$! 2>/dev/null' EXIT INT TERM; \
		$(BIN)/uvicorn api.app:app --host $(HOST) --port $(PORT) --timeout-keep-alive 30 \
			--workers $(WORKERS); \
	fi

test: $(STAMP)
	$(BIN)/ruff check matcher api tests bench fixtures
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 -q tests

lint: $(STAMP)
	$(BIN)/ruff check matcher api tests bench fixtures

typecheck: $(STAMP)
	$(BIN)/mypy

# Benchmarks print tables; targets from the issues are shown beside the figures.
bench: $(STAMP)
	$(BIN)/python -m bench.bench_rank
	$(BIN)/python -m bench.bench_allocate
	$(BIN)/python -m bench.bench_pages
	$(BIN)/python -m bench.bench_import
	$(BIN)/python -m bench.bench_published
	$(BIN)/python -m bench.bench_ledger
	$(BIN)/python -m bench.bench_batch

# 50 concurrent users on loopback against 10,000 enterprises and 1,000 tenders, SQLite and
# PostgreSQL (a fresh schema in the `test` database); see bench/README.md "Load".
load: $(STAMP)
	$(BIN)/python -m bench.load

# Spend classification of generated and hand-written purchase ledgers (dev and held-out,
# bench/data/ledgers_hand), issue #15.
.PHONY: ledger-eval
ledger-eval: $(STAMP)
	$(BIN)/python -m bench.ledger_eval

# Precision and recall of the social-return detector on tests/data/sroi_sentences.jsonl.
.PHONY: sroi-eval
sroi-eval: $(STAMP)
	$(BIN)/python -m api.importers.sroi_eval

# The API's contract (issue #18): the in-suite schemathesis run (tests/test_contract.py:
# every phase, every role, SQLite and PostgreSQL) with 40 examples per operation instead of
# CI's 2.
.PHONY: contract
contract: $(STAMP)
	CONTRACT_EXAMPLES=40 $(BIN)/python -m pytest -q -n 2 -p no:cacheprovider tests/test_contract.py

fixtures: $(STAMP)
	$(BIN)/python -m fixtures.generate

clean:
	rm -rf $(VENV) sroi.db sroi.db-wal sroi.db-shm sroi.db.queue* .pytest_cache .ruff_cache .mypy_cache
