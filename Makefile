# realm-metrics: `make run` and `make test` work on a fresh Debian machine with Swift installed.
SWIFT ?= swift
RELEASE_BIN := .build/release/realm-metrics
DEBUG_BIN := .build/debug/realm-metrics
FORMATS := realm-sync-worker ros1 ros2

.PHONY: all deps deps-test build build-debug run test check test-alerts test-package deb bench fuzz fuzz-long test-swift test-cli check-patterns golden-check golden-record report-screenshot clean

all: build

## deps: install the missing system packages (libpcre2-dev, libsystemd-dev, pkg-config)
deps:
	@scripts/install-deps.sh

## deps-test: also the packages the tests use (journald, systemd-journal-remote, collectd, logrotate)
deps-test:
	@scripts/install-deps.sh --test

## build: release binary at .build/release/realm-metrics
build: deps
	$(SWIFT) build -c release --product realm-metrics

build-debug: deps
	$(SWIFT) build

## run: the main job on its defaults: follow the local journal for realm-object-server.service and
## realm-sync.service, send statsd to localhost:8125, state in /var/lib/realm-metrics
run: build
	$(RELEASE_BIN) run

## test: unit, golden, live and command-line tests, the package test and a short fuzz run (as root:
## the live tests get a journald of their own in private mount and PID namespaces, never the host's)
test: deps deps-test test-swift test-cli test-alerts test-package fuzz

test-swift: build-debug
	Tests/host/journal-untouched.sh scripts/private-journald.sh $(SWIFT) test

## check: the quick rootless part: unit and golden tests (no journald, no services)
check: build-debug
	$(SWIFT) test --skip RealmMetricsLiveTests
	@$(MAKE) --no-print-directory golden-check

test-cli: build-debug
	@REALM_METRICS_BIN=$(DEBUG_BIN) bash Tests/CLI/cli-tests.sh

## test-alerts: the Prometheus alert rules are valid and do what their unit tests say
test-alerts: deps-test
	promtool check rules packaging/prometheus/realm-alerts.yml
	cd packaging/prometheus && promtool test rules realm-alerts.test.yml

## test-package: build the .deb, install it here, check it, remove it
test-package: deps
	@bash Tests/package/deb-test.sh

## fuzz: a short libFuzzer run over the pattern loader and line pipeline (fuzz-long: 10 minutes)
fuzz: deps
	@bash scripts/fuzz.sh 20

fuzz-long: deps
	@bash scripts/fuzz.sh 600

## deb: dist/realm-metrics_<version>_<arch>.deb
deb: deps
	@bash scripts/build-deb.sh

check-patterns: build-debug
	$(DEBUG_BIN) check patterns/*.yaml patterns/examples/*.yaml

## golden-check: the binary's replay of each sample equals the expected files; the data section of its
## report (the lines between <script type="application/json" id="report-data"> and </script>) too
golden-check: build-debug
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && for f in $(FORMATS); do \
	  $(DEBUG_BIN) replay -q --patterns $$f --prefix realm.test --summary patterns/$$f.sample.log | diff -u patterns/$$f.expected.json - && \
	  $(DEBUG_BIN) replay -q --patterns $$f --prefix realm.test patterns/$$f.sample.log | diff -u patterns/$$f.expected.statsd - && \
	  TZ=UTC $(DEBUG_BIN) replay -q --patterns $$f --prefix realm.test --report $$tmp/$$f.html patterns/$$f.sample.log && \
	  sed -n '/^<script type="application\/json" id="report-data">$$/,/^<\/script>$$/{//!p}' $$tmp/$$f.html | diff -u patterns/$$f.expected.report.json - || exit 1; \
	done; echo "golden files match"

## golden-record: rewrite the expected files from the current code (review the diff before committing)
golden-record: build-debug
	REALM_METRICS_RECORD_GOLDEN=1 $(SWIFT) test --filter 'GoldenSamplesTests|ReportGoldenTests'
	git diff --stat -- patterns/

## report-screenshot: refresh docs/report.png from the browser test's screenshot (pngquant and optipng
## shrink it when installed)
report-screenshot: build-debug
	REALM_METRICS_BIN=$(DEBUG_BIN) REPORT_SCREENSHOT_TO=$(CURDIR)/docs/report.png bash Tests/CLI/report-browser.sh
	if command -v pngquant >/dev/null; then pngquant --force --skip-if-larger --quality 60-90 --output docs/report.png docs/report.png || echo "pngquant left it as it was"; fi
	if command -v optipng >/dev/null; then optipng -quiet -o2 docs/report.png; fi
	@ls -l docs/report.png

## bench: realm-metrics vs mtail and grep on a 2,000,000-line log, backfill vs replay, live CPU at 10,000
## lines/s, RSS; BASE=<git rev> also times replay and backfill of that revision's release build
bench: build
	@command -v mtail >/dev/null || { apt-get update -q && apt-get install -y -q --no-install-recommends mtail; }
	@base="$${BENCH_BASE_BIN:-}"; \
	if [ -n "$(BASE)" ]; then base=$$(bench/base-bin.sh '$(BASE)') || exit 1; fi; \
	BENCH_BASE_BIN="$$base" scripts/private-journald.sh python3 bench/bench.py

clean:
	rm -rf .build
