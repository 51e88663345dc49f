# CEX: the two commands a newcomer types are `make run` and `make test`.
# Every target installs what it needs first, so a fresh clone works.

SHELL := /bin/bash
.DEFAULT_GOAL := help
NODE_MODULES_STAMP := node_modules/.package-lock.json

.PHONY: help install nats-server chromium pgbouncer build run demo test lint test-faults bench migrate image renders clean

help:
	@echo "make demo         make run plus ten simulated endpoints demo-1 … demo-10 to invoke commands on"
	@echo "make run          CEX on http://localhost:$${PORT:-8080} (embedded Postgres + local nats-server unless DATABASE_URL/NATS_URL are set)"
	@echo "make test         every test (embedded Postgres + nats-server unless DATABASE_URL/NATS_URL are set), after make lint"
	@echo "make lint         ESLint (eslint.config.js) and Prettier's check (.prettierrc)"
	@echo "make test-faults  the fault-injection suite"
	@echo "make bench        benchmarks, each figure beside its floor (BENCH=full for the long run)"
	@echo "make migrate      apply migrations to DATABASE_URL"
	@echo "make image        build the container image (needs a Docker engine)"

# npm ci only when package-lock.json changed since the last install.
$(NODE_MODULES_STAMP): package-lock.json package.json
	npm ci --no-audit --no-fund
	@touch $(NODE_MODULES_STAMP)

install: $(NODE_MODULES_STAMP) nats-server

# nats-server from PATH (Debian puts it in /usr/sbin); installed from Debian's
# package when missing. Skipped when NATS_URL points at a server already.
nats-server:
	@if [ -z "$$NATS_URL" ] && ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ]; then \
	  echo "installing nats-server (Debian package)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq nats-server; \
	fi

# pgbouncer (Debian's package) for the test of the transaction-pooler mode
# (test/store/pooler.test.ts); CEX itself never starts one.
pgbouncer:
	@if ! command -v pgbouncer >/dev/null && [ ! -x /usr/sbin/pgbouncer ]; then \
	  echo "installing pgbouncer (Debian package)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq pgbouncer; \
	fi

# Debian's chromium drives the console's browser tests (playwright-core brings
# no browser; Playwright's own download is not reachable from every machine).
# Installed from Debian's package when missing, like nats-server.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing chromium (Debian package) for the console's browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; \
	fi

# The server (tsc to dist/), each FUNCTION_TARGET's bundle (esbuild to
# dist/bundles/, what the image starts) and the operator console (its own
# tsconfig for browser code, then Vite to dist/console/).
build: $(NODE_MODULES_STAMP)
	npx tsc -p tsconfig.json
	node scripts/bundle.mjs
	npx tsc -p console/tsconfig.json
	npx vite build --config console/vite.config.ts --logLevel warn

# One foreground process group: the dev host, embedded Postgres and nats-server.
# exec keeps the node process in make's place, so Ctrl-C/SIGTERM reach it.
run: install build
	exec node dist/functions/main.js

# The same, plus the simulated fleet demo-1 … demo-10 in the same process.
demo: install build
	exec node dist/functions/main.js --demo

test: install chromium pgbouncer build
	npx tsc -p test/tsconfig.json
	$(MAKE) --no-print-directory lint
	npx vitest run

# Lint and format check only; the formatter itself is `npx prettier --write .`.
lint: $(NODE_MODULES_STAMP)
	npx eslint .
	npx prettier --check .

test-faults: install build
	npx vitest run --config test/faults/vitest.config.ts

bench: install build
	node dist/bench/run.js

migrate: build
	FUNCTION_TARGET=migrate node dist/functions/main.js

# The expected renders test/deploy/manifests.test.ts compares its kustomize
# resolver with (kubectl's built-in kustomize; run after changing knative/).
renders:
	@command -v kubectl >/dev/null || { echo "make renders needs kubectl (its built-in kustomize)"; exit 1; }
	@for root in base migrate observability overlays/gateway-api overlays/gateway-api/platform overlays/kind overlays/kind/deps overlays/kind/migrate \
	    overlays/production overlays/production/flux overlays/production/migrate overlays/production/platform; do \
	  out=test/deploy/renders/$$(echo $$root | tr / _).yaml; \
	  { echo "# kubectl kustomize knative/$$root: the expected render, refreshed by make renders"; kubectl kustomize knative/$$root; } > $$out || exit 1; \
	done

image:
	@if docker info >/dev/null 2>&1; then docker build -t cex:latest .; \
	else echo "make image: no Docker engine answers here (docker info failed); the Dockerfile is checked by the tests instead"; exit 1; fi

clean:
	rm -rf dist
