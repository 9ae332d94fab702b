# deploy/deploy.mk — images, the Swarm stack and its monitoring checks.
# Included at the end of the Makefile; variables here are prefixed to stay
# clear of the Makefile's own.
#
#   make image                       both images, tagged with the version (scripts/version.sh) and latest
#   make image-e2l                   the auditors' image (CLI, web view)
#   make deploy-check                promtool checks of deploy/prometheus
#   make stack-deploy                deploy deploy/swarm/stack.yml (needs a swarm manager)
#   make provision-node HOST=name    copy .e2l/network/hosts/<name> to $(IDENTITY_DIR) on this node

# The version (the Makefile's VERSION, from scripts/version.sh), evaluated
# once: others may commit while an image builds. IMAGE_TAG=... adds another
# tag instead (the binaries still say VERSION).
ifeq ($(origin IMAGE_TAG),undefined)
IMAGE_TAG := $(VERSION)
endif
COLLECTOR_IMAGE ?= e2l-collector
CHAINCODE_IMAGE ?= e2l-chaincode
E2L_IMAGE       ?= e2l
IMAGE_CTX       ?= $(BIN)/image
# Static binaries: the images are FROM scratch (no libc, no shell).
STATIC_BUILD    := CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath
STACK_NAME      ?= e2l
STACK_FILES     ?= deploy/swarm/stack.yml
IDENTITY_DIR    ?= /etc/e2l/identity
PROMTOOL        ?= promtool

.PHONY: image
image: image-collector image-chaincode ## build the collector and chaincode images (FROM scratch, static binaries, no registry)

.PHONY: image-collector
image-collector: ## build the collector image e2l-collector:<version> and :latest
	rm -rf $(IMAGE_CTX)/collector && mkdir -p $(IMAGE_CTX)/collector/spool
	$(STATIC_BUILD) -ldflags '-s -w $(LDFLAGS)' -o $(IMAGE_CTX)/collector/e2l-collector ./cmd/e2l-collector
	docker build --pull=false -f deploy/docker/collector.Dockerfile --build-arg VERSION=$(VERSION) \
		-t $(COLLECTOR_IMAGE):$(IMAGE_TAG) -t $(COLLECTOR_IMAGE):latest $(IMAGE_CTX)/collector

.PHONY: image-chaincode
image-chaincode: ## build the chaincode-as-a-service image e2l-chaincode:<version> and :latest
	rm -rf $(IMAGE_CTX)/chaincode && mkdir -p $(IMAGE_CTX)/chaincode
	$(STATIC_BUILD) -ldflags '-s -w $(LDFLAGS)' -o $(IMAGE_CTX)/chaincode/e2l-chaincode ./cmd/e2l-chaincode
	$(STATIC_BUILD) -ldflags '-s -w' -o $(IMAGE_CTX)/chaincode/e2l-probe ./cmd/e2l-probe
	docker build --pull=false -f deploy/docker/chaincode.Dockerfile --build-arg VERSION=$(VERSION) \
		-t $(CHAINCODE_IMAGE):$(IMAGE_TAG) -t $(CHAINCODE_IMAGE):latest $(IMAGE_CTX)/chaincode

.PHONY: image-e2l
image-e2l: ## build the auditors' image e2l:<version> and :latest (the CLI; its default command serves the web view)
	rm -rf $(IMAGE_CTX)/e2l && mkdir -p $(IMAGE_CTX)/e2l/data
	$(STATIC_BUILD) -ldflags '-s -w $(LDFLAGS)' -o $(IMAGE_CTX)/e2l/e2l ./cmd/e2l
	docker build --pull=false -f deploy/docker/e2l.Dockerfile --build-arg VERSION=$(VERSION) \
		-t $(E2L_IMAGE):$(IMAGE_TAG) -t $(E2L_IMAGE):latest $(IMAGE_CTX)/e2l

.PHONY: deploy-check
deploy-check: deps-test ## check the Prometheus configuration and alert rules with promtool (Debian package prometheus)
	$(PROMTOOL) check config deploy/prometheus/prometheus.yml
	$(PROMTOOL) check rules deploy/prometheus/alerts.yml
	$(PROMTOOL) test rules deploy/prometheus/alerts_test.yml
	$(GO) test ./deploy/...

.PHONY: stack-deploy
stack-deploy: ## deploy the collector stack: E2L_DOCKER_GID, E2L_COLLECTOR_IMAGE etc. from the environment (docs/operations.md)
	E2L_DOCKER_GID=$${E2L_DOCKER_GID:-$$(stat -c %g /var/run/docker.sock)} \
		docker stack deploy --resolve-image never $(addprefix -c ,$(STACK_FILES)) $(STACK_NAME)

.PHONY: stack-rm
stack-rm: ## remove the collector stack (spool volumes stay on the nodes)
	docker stack rm $(STACK_NAME)

.PHONY: provision-node
provision-node: ## install an enrolled identity on this node: make provision-node HOST=name [IDENTITY_DIR=/etc/e2l/identity]
	deploy/swarm/provision-node.sh --from $(NET_DIR)/hosts/$(HOST) --to $(IDENTITY_DIR)
