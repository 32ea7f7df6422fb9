# The tutorial's first upstream, @modelcontextprotocol/server-everything, installed in the image
# instead of fetched by `npx -y` when the pod starts: a cluster without the npm registry (or without
# the internet) runs it too. The tutorial's Deployment still runs unchanged on it, with only its image
# swapped: its `npx -y @modelcontextprotocol/server-everything streamableHttp` finds the global
# install and fetches nothing. docs/kind.md says how to swap the image.
#
#   docker build -f deploy/image/server-everything.Dockerfile -t mcp-server-everything:2026.8.31 deploy/image
#
# EVERYTHING_VERSION defaults to the version package.json pins (npm run image passes it; a test keeps
# the two equal). Nothing from the build context is copied.
ARG NODE_IMAGE=node:22-bookworm-slim
FROM ${NODE_IMAGE}
ARG EVERYTHING_VERSION=2026.8.31
LABEL org.opencontainers.image.title="mcp-server-everything" \
      org.opencontainers.image.description="@modelcontextprotocol/server-everything, installed, for the mcpmux tutorial" \
      org.opencontainers.image.version="${EVERYTHING_VERSION}"
RUN npm install --global --no-audit --no-fund "@modelcontextprotocol/server-everything@${EVERYTHING_VERSION}" \
    && npm cache clean --force
# npx writes its logs under HOME; /tmp is writable (an emptyDir with a read-only root).
ENV HOME=/tmp \
    PORT=3001
USER 10001:10001
EXPOSE 3001
CMD ["mcp-server-everything", "streamableHttp"]
