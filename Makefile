# Bergamot. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
GO ?= go
# Debian packages `make run` needs (checked, installed when missing, as root;
# nagios-nrpe-server is the demo's private NRPE daemon, its system service is not started).
RUN_PACKAGES := postgresql nagios-nrpe-server monitoring-plugins-basic monitoring-plugins-standard libssl-dev gcc
# Debian packages the tests need on top: real peers for every engine and channel.
TEST_PACKAGES := $(RUN_PACKAGES) nagios-nrpe-server nagios-nrpe-plugin snmpd snmp snmptrapd haproxy dnsmasq-base \
	ngircd exim4-daemon-light chromium iproute2 iptables util-linux procps curl nagios4-core openssh-server mariadb-server \
	libvirt-daemon-system default-jdk-headless libjolokia-core-java libjson-simple-java pebble libnss3-tools prometheus
# 30m: internal/rigtest runs eight multi-node chaos and failover scenarios, four at a time; on a
# shared 2-core VM at load 70-100 it did not finish within 20m.
GO_TEST_FLAGS ?= -race -timeout 30m
DEPS_STAMP := .bergamot/.deps

# nfpm builds the .deb (make package); pinned, run through the Go module proxy.
NFPM := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null | sed 's/^v//; s/^\([^0-9]\)/0.0.0+\1/')
ARCH ?= $(shell $(GO) env GOARCH)

.PHONY: help run build test test-go test-frontend test-e2e bench chaos soak package test-package generate lint frontend deps-run deps-test clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

deps-run: ## install what `make run` needs (Debian packages) if missing
	@./scripts/ensure-packages $(RUN_PACKAGES)

deps-test: ## install what the tests need (Debian packages, npm modules) if missing
	@./scripts/ensure-packages $(TEST_PACKAGES)
	@command -v npm >/dev/null || ./scripts/ensure-packages nodejs npm
	@cd frontend && (test -d node_modules/.package-lock.json -o -f node_modules/.package-lock.json || npm ci --no-audit --no-fund)

frontend: ## build the dashboard into frontend/dist (needs Node; the committed build is used without it)
	@if command -v npm >/dev/null; then \
		cd frontend && { test -f node_modules/.package-lock.json || npm ci --no-audit --no-fund; } && npm run build --silent; \
	else echo "npm not found: using the committed frontend/dist"; fi

build: deps-run frontend ## build bin/bergamot with the dashboard embedded
	$(GO) build -o bin/bergamot ./cmd/bergamot

run: build ## build everything and run the whole system on this machine (dashboard on :8080)
	./bin/bergamot run

test: deps-test build test-go test-frontend test-e2e test-package ## install test dependencies and run every test

# go test -json through internal/testsummary: plain `go test` output, then how many tests
# skipped because the shared fixture set (BERGAMOT_FIXTURES, default ../shared/fixtures) is missing.
test-go: ## Go tests with the race detector, against real PostgreSQL, plugins and servers; counts skips
	set -o pipefail; $(GO) test $(GO_TEST_FLAGS) -json ./... | $(GO) run ./internal/testsummary

test-frontend: ## dashboard unit tests (Vitest)
	cd frontend && npm test --silent

test-e2e: build ## browser end-to-end tests in headless Chromium against a real `bergamot run`
	./scripts/e2e

bench: deps-run ## run the benchmarks and print their figures
	./scripts/bench

chaos: build ## every chaos and failover scenario of internal/rigtest, verbose, with their ledgers (make test runs them too, quietly)
	$(GO) test -count=1 -timeout 60m -v -run 'TestChaos|TestFailover' ./internal/rigtest/

soak: build ## one hour at half capacity: RSS, goroutines, files, table sizes and lateness sampled each minute, then a verdict (SOAK_DURATION, SOAK_CHECKS)
	./scripts/soak

package: build ## build dist/bergamot_VERSION_ARCH.deb (binary, systemd units, /etc/bergamot) with nfpm
	@mkdir -p dist
	cd packaging && VERSION="$(VERSION)" ARCH="$(ARCH)" $(GO) run $(NFPM) pkg --config nfpm.yaml --packager deb --target ../dist/
	@ls -l dist/*.deb

test-package: package ## install the .deb into a scratch root and start each unit's command from it
	./scripts/test-package dist/bergamot_*_$(ARCH).deb

generate: ## regenerate generated code (gqlgen)
	$(GO) tool gqlgen generate

lint: ## go vet and golangci-lint (installed into GOPATH/bin when missing); CI runs it
	$(GO) vet ./...
	@PATH="$$($(GO) env GOPATH)/bin:$$PATH"; command -v golangci-lint >/dev/null || $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" golangci-lint run ./...

clean: ## remove build output (keeps the private database in .bergamot)
	rm -rf bin dist
