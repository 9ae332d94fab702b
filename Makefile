# e2l — run `make` (or `make help`) for the list of targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

GO         ?= go
BIN        := $(CURDIR)/.bin
FABRIC_BIN := $(BIN)/fabric
# Binaries tools/fabric builds (pinned in tools/fabric/go.mod).
FABRIC_CMDS := \
	github.com/hyperledger/fabric/cmd/peer \
	github.com/hyperledger/fabric/cmd/orderer \
	github.com/hyperledger/fabric/cmd/configtxgen \
	github.com/hyperledger/fabric/cmd/cryptogen \
	github.com/hyperledger/fabric/cmd/osnadmin \
	github.com/hyperledger/fabric-ca/cmd/fabric-ca-server \
	github.com/hyperledger/fabric-ca/cmd/fabric-ca-client

# Local network (network/, cmd e2lnet); override on the command line, e.g.
# make up NET_DIR=/tmp/net PORT_BASE=17000 BATCH_TIMEOUT=200ms
NET_DIR       ?= .e2l/network
PORT_BASE     ?= 7000
BATCH_TIMEOUT ?= 500ms
E2LNET        := $(BIN)/e2lnet
# make enroll ORG=Developer HOST=node2 [ROLE=none] [SWARM_ROLE=worker]
ORG  ?= Provider
HOST ?= $(shell hostname)
ROLE ?= collector
SWARM_ROLE ?= manager

# Build stamp of every product binary (internal/buildinfo, --version). The
# version comes from one place, scripts/version.sh (the VERSION file, and the
# revision unless the commit is tagged v<VERSION>); evaluated once.
ifeq ($(origin VERSION),undefined)
VERSION  := $(shell scripts/version.sh)
endif
REVISION := $(shell git rev-parse HEAD 2>/dev/null)
BUILDPKG := github.com/e2l-project/e2l/internal/buildinfo
LDFLAGS  := -X $(BUILDPKG).Version=$(VERSION) -X $(BUILDPKG).Revision=$(REVISION) \
	-X $(BUILDPKG).Date=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

.PHONY: fabric-bin
fabric-bin: ## build the pinned Fabric and Fabric CA binaries into .bin/fabric (only when tools/fabric changed)
	@GO=$(GO) scripts/progress.sh fabric-bin tools/fabric/build.sh $(FABRIC_BIN) $(FABRIC_CMDS)

.PHONY: deps-up deps-test
deps-up: ## check what make up needs (Go, a running Docker Engine)
	@scripts/deps.sh up
deps-test: ## check, and install from Debian's packages when root, what make test needs
	@scripts/deps.sh test

.PHONY: e2lnet
e2lnet: ## build the network tool .bin/e2lnet
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/e2lnet ./network/cmd/e2lnet

.PHONY: chaincode-bin
chaincode-bin: ## build the chaincode server .bin/e2l-chaincode
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/e2l-chaincode ./cmd/e2l-chaincode

# This machine's collector (scripts/collector.sh): spool, log and pid file in
# COLLECTOR_DIR, /metrics on COLLECTOR_LISTEN.
COLLECTOR_DIR    ?= .e2l/collector
COLLECTOR_LISTEN ?= 127.0.0.1:9464
COLLECTOR_ENV     = NET_DIR=$(NET_DIR) HOST=$(shell hostname) COLLECTOR_DIR=$(COLLECTOR_DIR) \
	COLLECTOR_LISTEN=$(COLLECTOR_LISTEN) COLLECTOR_BIN=$(BIN)/e2l-collector E2L_CLI=$(BIN)/e2l

# The auditors' web view (scripts/webview.sh, e2l serve): its index and log in
# WEB_DIR, served on WEB_LISTEN.
WEB_DIR    ?= .e2l/web
WEB_LISTEN ?= 127.0.0.1:9480
WEB_ENV     = NET_DIR=$(NET_DIR) HOST=$(shell hostname) WEB_DIR=$(WEB_DIR) WEB_LISTEN=$(WEB_LISTEN) E2L_CLI=$(BIN)/e2l

.PHONY: up
up: deps-up fabric-bin chaincode-bin e2lnet ## start the local network (restarts an existing one), enroll this machine, start its collector, show a container recorded, serve the web view (its URL at the end)
	$(E2LNET) up --dir $(NET_DIR) --chaincode-bin $(BIN)/e2l-chaincode --port-base $(PORT_BASE) --batch-timeout $(BATCH_TIMEOUT)
	@# Enrolling again would replace the identity a running collector uses. Not
	@# enrolled means a new network: a spool of an old one's chain is discarded.
	@# Enrolled by an older network (before the host registry): register it
	@# now; registering again with the same role changes nothing.
	@envf=$(NET_DIR)/hosts/$(shell hostname)/collector.env; if [ -f $$envf ]; then echo "host $(shell hostname) already enrolled"; \
		$(E2LNET) register-host --dir $(NET_DIR) --org "$$(sed -n 's/^E2L_MSP_ID=//p' $$envf)" --host $(shell hostname) --swarm-role manager; else \
		$(COLLECTOR_ENV) scripts/collector.sh stop && rm -rf $(COLLECTOR_DIR)/spool && \
		$(E2LNET) enroll --dir $(NET_DIR) --org Provider --host $(shell hostname); fi
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/e2l-collector ./cmd/e2l
	@$(COLLECTOR_ENV) scripts/collector.sh start
	@$(COLLECTOR_ENV) scripts/demo.sh
	@$(WEB_ENV) scripts/webview.sh start

.PHONY: demo
demo: ## run the paper's scenarios again on the running system (scenario 1 needs a Swarm manager) and show them through the e2l CLI
	@$(COLLECTOR_ENV) scripts/demo.sh

.PHONY: up-fresh
up-fresh: deps-up fabric-bin chaincode-bin e2lnet ## like up, but discard the existing network (and the collector's spool) and create a new one
	@$(WEB_ENV) scripts/webview.sh stop
	@$(COLLECTOR_ENV) scripts/collector.sh stop
	rm -rf $(COLLECTOR_DIR)/spool
	$(E2LNET) up --dir $(NET_DIR) --fresh --chaincode-bin $(BIN)/e2l-chaincode --port-base $(PORT_BASE) --batch-timeout $(BATCH_TIMEOUT)
	$(E2LNET) enroll --dir $(NET_DIR) --org Provider --host $(shell hostname)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/e2l-collector ./cmd/e2l
	@$(COLLECTOR_ENV) scripts/collector.sh start
	@$(COLLECTOR_ENV) scripts/demo.sh
	@$(WEB_ENV) scripts/webview.sh start

.PHONY: down
down: ## stop the web view and this machine's collector (it drains its spool first), then the local network (state kept; see down-purge)
	@$(WEB_ENV) scripts/webview.sh stop
	@$(COLLECTOR_ENV) scripts/collector.sh stop
	@if [ -x $(BIN)/e2lnet ]; then $(E2LNET) down --dir $(NET_DIR); else $(GO) run ./network/cmd/e2lnet down --dir $(NET_DIR); fi

.PHONY: down-purge
down-purge: e2lnet ## stop the web view, this machine's collector and the local network, and delete their state (network, spool, the view's index)
	@$(WEB_ENV) scripts/webview.sh stop
	@$(COLLECTOR_ENV) scripts/collector.sh stop
	rm -rf $(COLLECTOR_DIR)/spool $(WEB_DIR)/cache
	$(E2LNET) down --dir $(NET_DIR) --purge

.PHONY: status
status: e2lnet ## show the local network's nodes and health
	$(E2LNET) status --dir $(NET_DIR)

.PHONY: enroll
enroll: e2lnet ## enroll a host identity and register the host as ORG's: make enroll ORG=Provider HOST=name [ROLE=none] [SWARM_ROLE=worker]
	$(E2LNET) enroll --dir $(NET_DIR) --org $(ORG) --host $(HOST) --role $(ROLE) --swarm-role $(SWARM_ROLE)

.PHONY: register
register: e2lnet ## register a host in the host registry as ORG's admin: make register ORG=Provider HOST=name [SWARM_ROLE=worker]
	$(E2LNET) register-host --dir $(NET_DIR) --org $(ORG) --host $(HOST) --swarm-role $(SWARM_ROLE)

.PHONY: deploy-cc
deploy-cc: chaincode-bin e2lnet ## deploy the chaincode again as the next sequence (upgrade)
	$(E2LNET) deploy-cc --dir $(NET_DIR) --chaincode-bin $(BIN)/e2l-chaincode

.PHONY: faults
faults: deps-test fabric-bin ## run the fault suite alone (real processes, two 60 s outages; about 10 minutes) and print its summary table
	@set +e; $(GO) test -tags integration -count=1 -timeout 25m -run '^TestFaultSuite$$' -v ./test/integration/; rc=$$?; \
		echo; cat test/integration/.artifacts/faults.md 2>/dev/null; exit $$rc

.PHONY: attacks
attacks: fabric-bin ## run the attack suite alone (a dishonest org, forged archives and receipts; docs/security.md) and print its table
	@set +e; $(GO) test -tags integration -count=1 -timeout 20m -run '^TestAttacks$$' -v ./test/integration/; rc=$$?; \
		echo; cat test/integration/.artifacts/attacks.md 2>/dev/null; exit $$rc

.PHONY: test-integration
test-integration: deps-test fabric-bin fabric-image-bin ## run the integration tests (own network on port base 27000, Docker)
	$(GO) test -tags integration -count=1 -timeout 40m ./test/integration/...

# --- build, test, lint -------------------------------------------------------

FUZZTIME ?= 10s
# package:FuzzTarget pairs run by test-fuzz (their corpora live in testdata/fuzz).
FUZZ_TARGETS := \
	./internal/record:FuzzDecodeBatch \
	./internal/record:FuzzCanonical \
	./internal/record:FuzzOpenSealed \
	./chaincode:FuzzRecordEvents \
	./internal/dockerwatch:FuzzNormalize

# --- release artifacts ----------------------------------------------------------

DIST_DIR ?= dist/$(VERSION)

.PHONY: dist
dist: ## release artifacts in dist/<version>: static binaries and tarballs (linux amd64, arm64), the collector's .deb, SHA256SUMS
	@VERSION=$(VERSION) REVISION=$(REVISION) GO=$(GO) scripts/dist.sh $(DIST_DIR)

.PHONY: deb
deb: ## the collector's .deb for this machine's architecture into .bin/deb (deploy/deb)
	@arch=$$($(GO) env GOARCH); mkdir -p $(BIN)/deb && \
		CGO_ENABLED=0 GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(BIN)/deb/e2l-collector ./cmd/e2l-collector && \
		scripts/deb.sh $(VERSION) $$arch $(BIN)/deb/e2l-collector $(BIN)/deb

.PHONY: build
build: ## build the product binaries into .bin
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/... ./network/cmd/e2lnet

.PHONY: test
test: deps-test lint test-unit deploy-check test-fuzz test-integration ## run every test: lint, unit (-race), deployment checks, fuzz (short), integration (real Docker, real Fabric)

.PHONY: test-unit
test-unit: ## unit tests with the race detector
	$(GO) test -race -count=1 ./...

.PHONY: test-fuzz
test-fuzz: ## run each fuzz target for FUZZTIME (default 10s) on top of its checked-in corpus
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn ($$pkg) for $(FUZZTIME)"; \
		GO=$(GO) scripts/fuzz.sh $$pkg $$fn $(FUZZTIME); \
	done

.PHONY: lint
lint: ## gofmt, go vet (also with the integration tag), no non-test Go file over 500 lines
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@out=$$(for f in $$(git ls-files '*.go' ':!:*_test.go' ':!:tools/fabric/overlay/*'); do \
		n=$$(wc -l <$$f); [ $$n -le 500 ] || grep -q '^// Code generated .* DO NOT EDIT\.$$' $$f || echo "$$f: $$n lines"; done); \
		if [ -n "$$out" ]; then echo "non-test Go files over 500 lines (split them by job):"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./test/integration/...
include deploy/deploy.mk
include deploy/consortium/consortium.mk

# --- benchmarks (bench/, cmd/e2l-bench) ---------------------------------------
# make bench [BENCH_FLAGS='--duration 20s --only gateway-ceiling']: its own
# fresh network in .e2l/bench-network (port base 17000, batch timeout 500ms),
# about 8-10 minutes on 2 cores; prints the table and writes
# docs/benchmarks.json and docs/benchmarks.md.
BENCH_FLAGS ?=

.PHONY: bench
bench: deps-test fabric-bin ## run the benchmarks on an own network: table, docs/benchmarks.json, docs/benchmarks.md
	$(GO) build -o $(BIN)/bench/ ./cmd/e2l-collector ./cmd/e2l-chaincode ./cmd/e2l-bench ./cmd/e2l
	$(BIN)/bench/e2l-bench --fabric-bin $(FABRIC_BIN) --chaincode-bin $(BIN)/bench/e2l-chaincode \
		--collector-bin $(BIN)/bench/e2l-collector --e2l-bin $(BIN)/bench/e2l $(BENCH_FLAGS)
