# e2l-fabric-ca: Hyperledger Fabric CA's server as pinned in tools/fabric,
# one static binary on an empty base, for the Swarm consortium
# (deploy/consortium). Unlike the peer and the orderer it is built with cgo
# (its SQLite database), linked statically (tools/fabric/build-static.sh).
# Build context made by `make image-fabric`:
# rootfs/usr/local/bin/{fabric-ca-server, e2l-probe} and
# owned/var/hyperledger/fabric-ca-server/, owned/tmp/ (empty, owned by the
# runtime uid); the version label last (see fabric-peer.Dockerfile). The
# stack mounts a
# volume on the server's home (its database, its idemix keys) and, inside
# it, the whole server configuration, bootstrap admin included, as a secret
# (fabric-ca-server-config.yaml: the server takes the configuration file's
# directory as its home), and the organisation's CA and TLS key pairs as
# secrets in /run/secrets.
FROM scratch
COPY rootfs/ /
COPY --chown=65532:65532 owned/ /
USER 65532:65532
# 7054 CA API (TLS), 9445 operations (/metrics, /healthz).
EXPOSE 7054 9445
VOLUME ["/var/hyperledger/fabric-ca-server"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/e2l-probe", "http://127.0.0.1:9445/healthz"]
ENTRYPOINT ["/usr/local/bin/fabric-ca-server", "start", "--home", "/var/hyperledger/fabric-ca-server"]
ARG VERSION=dev
LABEL org.opencontainers.image.title="e2l-fabric-ca" \
      org.opencontainers.image.description="Hyperledger Fabric CA server for an e2l consortium organisation" \
      org.opencontainers.image.source="https://github.com/e2l-project/e2l" \
      org.opencontainers.image.version="${VERSION}"
