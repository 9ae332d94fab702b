# e2l-fabric-orderer: Hyperledger Fabric's orderer as pinned in tools/fabric
# (with e2l's Raft restart-deadlock backport, tools/fabric/overlay), one
# static binary on an empty base, for the Swarm consortium
# (deploy/consortium). Build context made by `make image-fabric`:
# rootfs/usr/local/bin/{orderer (CGO_ENABLED=0), e2l-probe} and
# owned/var/hyperledger/production/orderer/, owned/tmp/ (empty, owned by the
# runtime uid); the version label last (see fabric-peer.Dockerfile). The
# stack mounts orderer.yaml, msp/, tls/ and the cluster's TLS
# roots, and a volume on /var/hyperledger/production/orderer. No system
# channel: channels are joined through the admin endpoint (osnadmin).
FROM scratch
COPY rootfs/ /
COPY --chown=65532:65532 owned/ /
USER 65532:65532
ENV FABRIC_CFG_PATH=/etc/hyperledger/fabric
# 7050 Broadcast/Deliver, 7053 admin (channel participation, mutual TLS),
# 7055 Raft cluster, 9444 operations (/metrics, /healthz).
EXPOSE 7050 7053 7055 9444
VOLUME ["/var/hyperledger/production/orderer"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/e2l-probe", "http://127.0.0.1:9444/healthz"]
ENTRYPOINT ["/usr/local/bin/orderer"]
ARG VERSION=dev
LABEL org.opencontainers.image.title="e2l-fabric-orderer" \
      org.opencontainers.image.description="Hyperledger Fabric orderer (Raft, channel participation API) for the e2l consortium" \
      org.opencontainers.image.source="https://github.com/e2l-project/e2l" \
      org.opencontainers.image.version="${VERSION}"
