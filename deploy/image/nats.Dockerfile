# NATS for the chart (nats.enabled) and the proxies' shared sessions, as a minimal image: one static
# nats-server binary on PATH, nothing else (the chart runs `nats-server --config /etc/nats/nats.conf`
# as uid 1000 with a read-only root and its own volumes). npm run image builds the binary from the Go
# module the tests pin (test/support/tools.ts) with CGO_ENABLED=0 and stages it as the context:
#
#   mkdir -p /tmp/nats && CGO_ENABLED=0 GOBIN=/tmp/nats go install github.com/nats-io/nats-server/v2@v2.14.9
#   docker build -f deploy/image/nats.Dockerfile -t mcpmux-nats:2.14.9 /tmp/nats
#
# Where a registry is reachable, the official nats:2.14-alpine (the chart's default) does the same.
FROM scratch
ARG NATS_VERSION=2.14.9
LABEL org.opencontainers.image.title="mcpmux-nats" \
      org.opencontainers.image.description="nats-server, statically linked, alone" \
      org.opencontainers.image.version="${NATS_VERSION}"
COPY nats-server /usr/local/bin/nats-server
ENV PATH=/usr/local/bin
USER 1000:1000
EXPOSE 4222 6222 8222
ENTRYPOINT ["nats-server"]
