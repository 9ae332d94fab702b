# e2l-fabric-peer: Hyperledger Fabric's peer as pinned in tools/fabric (with
# e2l's overlay), one static binary on an empty base, for the Swarm
# consortium (deploy/consortium, docs/consortium.md). The build context is
# made by `make image-fabric` (deploy/consortium/consortium.mk):
#
#   rootfs/usr/local/bin/peer        static (CGO_ENABLED=0, tools/fabric/build-static.sh)
#   rootfs/usr/local/bin/e2l-probe   the health check (no shell, no curl in the image)
#   rootfs/opt/e2l/ccaas/bin/detect, build, release
#                                    e2l-ccaas-builder: the external builder
#                                    for chaincode as a service
#   owned/var/hyperledger/production/, owned/tmp/   empty, owned by the runtime uid
#
# Few instructions (each is a step of the legacy builder) and the version
# label last, so that a new tag of the same binaries reuses every layer.
#
# Mounted by the stack: core.yaml in FABRIC_CFG_PATH, msp/ and tls/ beside
# it (configs; keys as secrets), the ccaas connection (a secret named by
# E2L_CCAAS_CONNECTION), a volume on /var/hyperledger/production.
FROM scratch
COPY rootfs/ /
# A new named volume copies the data directory's ownership; the external
# builder's work directories are made in /tmp.
COPY --chown=65532:65532 owned/ /
USER 65532:65532
ENV FABRIC_CFG_PATH=/etc/hyperledger/fabric
# 7051 peer and Gateway, 9443 operations (/metrics, /healthz).
EXPOSE 7051 9443
VOLUME ["/var/hyperledger/production"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/e2l-probe", "http://127.0.0.1:9443/healthz"]
ENTRYPOINT ["/usr/local/bin/peer", "node", "start"]
ARG VERSION=dev
LABEL org.opencontainers.image.title="e2l-fabric-peer" \
      org.opencontainers.image.description="Hyperledger Fabric peer for the e2l consortium (chaincode as a service, no Docker)" \
      org.opencontainers.image.source="https://github.com/e2l-project/e2l" \
      org.opencontainers.image.version="${VERSION}"
