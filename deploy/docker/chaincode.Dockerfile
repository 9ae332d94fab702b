# e2l-chaincode: the e2l contract as a chaincode-as-a-service server, one
# static binary on an empty base. The build context (made by
# `make image-chaincode`, see deploy/deploy.mk) holds the binary built on
# the host with CGO_ENABLED=0.
#
# Environment (docs/TEAM-CONTRACTS.md): CHAINCODE_ID (the package ID the
# peers installed, required), CHAINCODE_SERVER_ADDRESS (default below),
# CHAINCODE_TLS_CERT / CHAINCODE_TLS_KEY / CHAINCODE_TLS_CLIENT_CA (PEM
# files, mount them as secrets). e2l-probe is the health check (there is no
# shell): a TCP connection to the default address.
FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="e2l-chaincode" \
      org.opencontainers.image.description="The e2l chaincode (chaincode as a service)" \
      org.opencontainers.image.source="https://github.com/e2l-project/e2l" \
      org.opencontainers.image.version="${VERSION}"
COPY e2l-chaincode /e2l-chaincode
COPY e2l-probe /usr/local/bin/e2l-probe
USER 65532:65532
ENV CHAINCODE_SERVER_ADDRESS=0.0.0.0:9999
EXPOSE 9999
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/e2l-probe", "tcp", "127.0.0.1:9999"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/e2l-chaincode"]
