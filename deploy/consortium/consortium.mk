# deploy/consortium/consortium.mk — the Fabric images and the single-cluster
# consortium demo. Included by the Makefile after deploy/deploy.mk (whose
# IMAGE_TAG, IMAGE_CTX, STATIC_BUILD, COLLECTOR_IMAGE and CHAINCODE_IMAGE it
# uses).
#
#   make fabric-image-bin      static peer, orderer, fabric-ca-server in .bin/fabric-static
#   make image-fabric          the images e2l-fabric-peer, -orderer, -ca (FROM scratch)
#   make consortium-up         the three organisations' stacks and the collector on this Engine
#   make consortium-down       remove all of it

FABRIC_STATIC        := $(BIN)/fabric-static
FABRIC_PEER_IMAGE    ?= e2l-fabric-peer
FABRIC_ORDERER_IMAGE ?= e2l-fabric-orderer
FABRIC_CA_IMAGE      ?= e2l-fabric-ca
CONSORTIUM_DIR       ?= .e2l/consortium

.PHONY: fabric-image-bin
fabric-image-bin: ## build the static Fabric binaries of the Fabric images into .bin/fabric-static (only when tools/fabric changed)
	@GO=$(GO) scripts/progress.sh fabric-image-bin tools/fabric/build-static.sh $(FABRIC_STATIC)

# image-fabric-<node>: the context holds rootfs/ (the Fabric binary and
# e2l-probe in /usr/local/bin, the peer's ccaas builder) and owned/ (the
# directories the runtime uid owns).
.PHONY: image-fabric image-fabric-peer image-fabric-orderer image-fabric-ca
image-fabric: image-fabric-peer image-fabric-orderer image-fabric-ca ## build the Fabric images e2l-fabric-peer, -orderer, -ca:<git describe> and :latest (no registry)

image-fabric-peer: fabric-image-bin
	@$(call fabric_context,peer,peer,/var/hyperledger/production)
	mkdir -p $(IMAGE_CTX)/fabric-peer/rootfs/opt/e2l/ccaas/bin
	$(STATIC_BUILD) -ldflags '-s -w' -o $(IMAGE_CTX)/fabric-peer/rootfs/opt/e2l/ccaas/bin/detect ./cmd/e2l-ccaas-builder
	cp $(IMAGE_CTX)/fabric-peer/rootfs/opt/e2l/ccaas/bin/detect $(IMAGE_CTX)/fabric-peer/rootfs/opt/e2l/ccaas/bin/build
	cp $(IMAGE_CTX)/fabric-peer/rootfs/opt/e2l/ccaas/bin/detect $(IMAGE_CTX)/fabric-peer/rootfs/opt/e2l/ccaas/bin/release
	docker build --pull=false -q -f deploy/docker/fabric-peer.Dockerfile --build-arg VERSION=$(IMAGE_TAG) \
		-t $(FABRIC_PEER_IMAGE):$(IMAGE_TAG) -t $(FABRIC_PEER_IMAGE):latest $(IMAGE_CTX)/fabric-peer

image-fabric-orderer: fabric-image-bin
	@$(call fabric_context,orderer,orderer,/var/hyperledger/production/orderer)
	docker build --pull=false -q -f deploy/docker/fabric-orderer.Dockerfile --build-arg VERSION=$(IMAGE_TAG) \
		-t $(FABRIC_ORDERER_IMAGE):$(IMAGE_TAG) -t $(FABRIC_ORDERER_IMAGE):latest $(IMAGE_CTX)/fabric-orderer

image-fabric-ca: fabric-image-bin
	@$(call fabric_context,ca,fabric-ca-server,/var/hyperledger/fabric-ca-server)
	docker build --pull=false -q -f deploy/docker/fabric-ca.Dockerfile --build-arg VERSION=$(IMAGE_TAG) \
		-t $(FABRIC_CA_IMAGE):$(IMAGE_TAG) -t $(FABRIC_CA_IMAGE):latest $(IMAGE_CTX)/fabric-ca

# fabric_context NODE BINARY DATA_DIR: a fresh build context for image-fabric-NODE.
define fabric_context
	rm -rf $(IMAGE_CTX)/fabric-$(1) && mkdir -p $(IMAGE_CTX)/fabric-$(1)/rootfs/usr/local/bin \
		$(IMAGE_CTX)/fabric-$(1)/owned$(3) $(IMAGE_CTX)/fabric-$(1)/owned/tmp && \
	cp $(FABRIC_STATIC)/$(2) $(IMAGE_CTX)/fabric-$(1)/rootfs/usr/local/bin/ && \
	$(STATIC_BUILD) -ldflags '-s -w' -o $(IMAGE_CTX)/fabric-$(1)/rootfs/usr/local/bin/e2l-probe ./cmd/e2l-probe
endef

# The single-cluster consortium on this machine's Engine (deploy/consortium/demo.sh).
.PHONY: consortium-up
consortium-up: deps-up fabric-bin image image-fabric ## the consortium on this Engine (a one-node Swarm: docker swarm init if in none): 3 organisations' CA, orderer, peer, chaincode as stacks, the collector; prints how to look at it
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./network/cmd/e2lnet ./cmd/e2l
	@FABRIC_BIN=$(FABRIC_BIN) E2LNET=$(BIN)/e2lnet E2L_CLI=$(BIN)/e2l CONSORTIUM_DIR=$(CONSORTIUM_DIR) \
		FABRIC_PEER_IMAGE=$(FABRIC_PEER_IMAGE) FABRIC_ORDERER_IMAGE=$(FABRIC_ORDERER_IMAGE) FABRIC_CA_IMAGE=$(FABRIC_CA_IMAGE) \
		CHAINCODE_IMAGE=$(CHAINCODE_IMAGE) COLLECTOR_IMAGE=$(COLLECTOR_IMAGE) deploy/consortium/demo.sh up

.PHONY: consortium-down
consortium-down: ## remove what consortium-up created, once its services are gone (CONSORTIUM_RMI=1: the Fabric images too)
	@CONSORTIUM_DIR=$(CONSORTIUM_DIR) FABRIC_PEER_IMAGE=$(FABRIC_PEER_IMAGE) FABRIC_ORDERER_IMAGE=$(FABRIC_ORDERER_IMAGE) \
		FABRIC_CA_IMAGE=$(FABRIC_CA_IMAGE) deploy/consortium/demo.sh down
