# e2l-collector: one static binary on an empty base. No registry is needed:
# the build context (made by `make image-collector`, see deploy/deploy.mk)
# holds the binary built on the host with CGO_ENABLED=0 and an empty
# directory for the spool.
#
#   context/
#     e2l-collector       static linux binary
#     spool/              empty; becomes /var/lib/e2l-collector
#
# The image runs as uid 65532 by default. To read the Docker socket the
# container also needs the socket's group as its group (see
# docs/operations.md, "Privileges"): the Swarm stack sets
# user: "65532:${E2L_DOCKER_GID}".
FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="e2l-collector" \
      org.opencontainers.image.description="Records Docker Engine events on a Hyperledger Fabric ledger" \
      org.opencontainers.image.source="https://github.com/e2l-project/e2l" \
      org.opencontainers.image.version="${VERSION}"
COPY e2l-collector /e2l-collector
# Owned by the runtime uid: a new named volume mounted here copies this
# directory's ownership, so the spool is writable without root.
COPY --chown=65532:65532 spool/ /var/lib/e2l-collector/
USER 65532:65532
ENV E2L_SPOOL_DIR=/var/lib/e2l-collector \
    E2L_LISTEN=:9464
VOLUME ["/var/lib/e2l-collector"]
EXPOSE 9464
STOPSIGNAL SIGTERM
ENTRYPOINT ["/e2l-collector"]
