# The one entry point: `make run` serves the sample site's search, `make test` runs every test
# after the lint and type checks (`make lint`); `make test-fast` is the quick inner loop.

PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8080
VENV := .venv
BIN := $(VENV)/bin
INDEX := var/index
CORPUS_FILES := $(shell find corpus -type f \( -name '*.html' -o -name '*.pdf' \) 2>/dev/null)

.PHONY: run test test-fast index corpus lint bench bench-quick bench-100k bench-soak clean chromium \
	nginx cluster cluster-stop

run: $(INDEX)/CURRENT
	$(BIN)/blmk-serve --index $(INDEX) --host $(HOST) --port $(PORT)

# The deployment of deploy/ on one machine, for a trial: two blmk-serve processes behind nginx
# on 127.0.0.1:$(PORT) (tools/cluster.py; files in var/cluster). Ctrl-C, or make cluster-stop
# from another shell, stops it.
cluster: $(INDEX)/CURRENT nginx
	$(BIN)/python tools/cluster.py start --port $(PORT) --index $(INDEX)

cluster-stop:
	$(BIN)/python tools/cluster.py stop

test: lint chromium nginx
	$(BIN)/python -m pytest

# The tests that need no browser, no server process and no long run: well under a minute.
test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -m "not browser and not server and not slow"

# Debian's Chromium for the browser tests (Playwright drives it; no browser is downloaded).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "Chromium is missing: install the Debian package chromium (browser tests skip)"; \
	  fi; }

# Debian's nginx for make cluster and the cluster tests, which run it as the user running make
# with a configuration of their own (on a machine with systemd, the package also starts its own
# nginx service on port 80: make cluster neither needs nor touches it).
nginx:
	@test -x /usr/sbin/nginx || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; \
	  else \
	    echo "nginx is missing: install the Debian package nginx (cluster tests skip)"; \
	  fi; }

# Rebuilt when missing or older than any corpus file.
$(INDEX)/CURRENT: $(VENV)/.installed $(CORPUS_FILES)
	$(BIN)/blmk-index build --corpus corpus --index $(INDEX)

index: $(VENV)/.installed
	$(BIN)/blmk-index build --corpus corpus --index $(INDEX)

# Regenerates corpus/ from corpus-src/ (needs the dev extra: fpdf2).
corpus: $(VENV)/.installed-dev
	$(BIN)/python tools/make_corpus.py

# Benchmarks print figures (they never fail on a number): extraction quality and speed,
# relevance, PDF pages per second, and build/update/search speed on a generated site of
# 10,000 pages against tantivy and SQLite FTS5. Those needing ../shared/data say so when it
# is absent. bench-quick is the speed part alone at 1,000 pages (a few minutes); bench-100k
# the same at 100,000 pages (an hour or more). bench-soak (not part of bench: it runs for five
# minutes) serves a generated site under a steady mix of requests while rebuilding the index
# every minute, and reports errors, latency minute by minute and the server's memory growth.
# bench.preview compares the editors' preview of a draft with a plain search; bench.crawl
# crawls a generated site served on loopback, then crawls it again with nothing changed;
# bench.threads runs uncached searches on 1, 2 and 4 threads of one process, bench.cluster on
# one process and on two behind nginx (it needs nginx: make nginx).
bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench.extraction
	$(BIN)/python -m bench.relevance
	$(BIN)/python bench/pdf.py
	$(BIN)/python -m bench.speed --pages 10000
	$(BIN)/python -m bench.preview
	$(BIN)/python -m bench.crawl
	$(BIN)/python -m bench.threads
	$(BIN)/python -m bench.cluster

bench-quick: $(VENV)/.installed-bench
	$(BIN)/python -m bench.speed --pages 1000

bench-100k: $(VENV)/.installed-bench
	$(BIN)/python -m bench.speed --pages 100000 --passes 1

bench-soak: $(VENV)/.installed-bench
	$(BIN)/python -m bench.soak

# Style, types and the layering contracts (setup.cfg's [importlinter] and [mypy] sections).
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy indexer search_api
	$(BIN)/lint-imports

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: setup.cfg pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,dev,bench]'
	touch $@

clean:
	rm -rf $(VENV) var .pytest_cache
