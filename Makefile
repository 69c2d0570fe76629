# callsign — build, test and package.
#
#   make run       start the local server on 127.0.0.1:8080 (dev key, memory limiter)
#   make test      install test dependencies, then run every test (plain, -race,
#                  and the fixed-clock tests at two far-off test epochs)
#   make lint      gofmt, go vet, staticcheck (also with packaging's build tags)
#   make bench     all benchmarks with -benchmem
#   make fuzz      every fuzz target for FUZZTIME (default 10s)
#   make build     compile everything and the function binaries for this machine
#   make package STAGE=prod   reproducible zips for both clouds + serverless package
#   make package-sizes        build the zips and print each zip's and binary's size
#   make deploy PROVIDER=aws|tencent STAGE=...   the only step that needs credentials

SHELL      := /bin/bash
GO         ?= go
FUZZTIME   ?= 10s
BENCHTIME  ?= 1s
STAGE      ?= dev
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
STATICCHECK_VERSION ?= v0.8.2
GOBIN      := $(shell $(GO) env GOPATH)/bin

.PHONY: all build run test test-go test-epochs deps deps-apt deps-npm lint bench fuzz clean

all: lint test

build:
	$(GO) build ./...
	mkdir -p bin/local
	$(GO) build -o bin/local/ ./cmd/callsign ./functions/...

run:
	$(GO) run ./cmd/callsign serve

## deps: everything the tests need on a fresh Debian machine.
deps: deps-apt deps-npm

deps-apt:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v zip >/dev/null || missing="$$missing zip"; \
	command -v unzip >/dev/null || missing="$$missing unzip"; \
	command -v curl >/dev/null || missing="$$missing curl"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# npm ci only when node_modules is missing or older than the lock file.
deps-npm: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

test: deps test-go test-epochs

# Twice: plain (allocation counts are only exact without the race detector)
# and with -race; then the tests of what the AWS build tags leave out.
test-go:
	$(GO) test -count=1 -timeout 30m ./...
	$(GO) test -race -count=1 -timeout 30m ./...
	$(GO) test -count=1 -tags lambda.norpc,callsign.notencent,callsign.noredis,callsign.notrtcapi -run 'NotBuiltIn' ./shared/app/ ./shared/platform/ ./shared/trtcapi/

# The packages whose tests use the fixed test clock, once more with its
# instant (testclock.Epoch) moved far into the past and far into the future:
# a test whose pinned date meets the real clock fails here on the day it is
# written, not on the day its date goes by.
TEST_EPOCHS ?= 2001-02-03T04:05:06Z 2037-12-30T23:59:58Z
test-epochs:
	@pkgs=$$($(GO) list -f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... | awk '/internal\/testclock/ {print $$1}'); \
	for e in $(TEST_EPOCHS); do \
		echo "== CALLSIGN_TEST_EPOCH=$$e"; \
		CALLSIGN_TEST_EPOCH=$$e $(GO) test -count=1 -timeout 30m $$pkgs || exit 1; \
	done

# The build-tag sets packaging uses (infra/package.mk) besides the default
# build: the AWS functions without and with Redis, and callbacks (which
# keeps the TRTC cloud API client). Vetting each keeps the files the
# default build leaves out checked too.
LINT_TAGS ?= lambda.norpc \
	lambda.norpc,callsign.notencent,callsign.noredis,callsign.notrtcapi \
	lambda.norpc,callsign.notencent,callsign.noredis \
	lambda.norpc,callsign.notencent,callsign.notrtcapi \
	lambda.norpc,callsign.notencent

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@set -e; for tags in $(LINT_TAGS); do echo "$(GO) vet -tags $$tags ./..."; $(GO) vet -tags $$tags ./...; done
	@[ -x "$(GOBIN)/staticcheck" ] || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN)/staticcheck ./...
	@set -e; for tags in $(LINT_TAGS); do echo "staticcheck -tags $$tags ./..."; $(GOBIN)/staticcheck -tags $$tags ./...; done

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

fuzz: deps
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f"; \
			$(GO) test $$pkg -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME); \
		done; \
	done

clean:
	rm -rf bin dist .serverless
include infra/package.mk

# Packaging and deploying run Serverless Framework from node_modules.
package deploy: deps-npm
