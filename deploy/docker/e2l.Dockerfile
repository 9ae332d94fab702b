# e2l: the auditors' CLI and web view (e2l serve), one static binary on an
# empty base, as the collector's image. The build context (made by `make
# image-e2l`, see deploy/deploy.mk) holds the binary built on the host with
# CGO_ENABLED=0 and an empty directory for the audit index.
#
#   context/
#     e2l     static linux binary
#     data/   empty; becomes /var/lib/e2l (the SQLite index, when not PostgreSQL)
FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="e2l" \
      org.opencontainers.image.description="Audits the e2l ledger of Docker events: CLI and read-only web view" \
      org.opencontainers.image.source="https://github.com/e2l-project/e2l" \
      org.opencontainers.image.version="${VERSION}"
COPY e2l /e2l
COPY --chown=65532:65532 data/ /var/lib/e2l/
USER 65532:65532
# The index's default place (a SQLite file per channel and trust anchor).
ENV XDG_CACHE_HOME=/var/lib/e2l HOME=/var/lib/e2l
VOLUME ["/var/lib/e2l"]
EXPOSE 8443
STOPSIGNAL SIGTERM
ENTRYPOINT ["/e2l"]
CMD ["serve", "--listen", ":8443"]
