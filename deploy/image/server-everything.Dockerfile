# The tutorial's first upstream, @modelcontextprotocol/server-everything, installed in the image
# instead of fetched by `npx -y` when the pod starts: a cluster without the npm registry (or without
# the internet) runs it too. The tutorial's Deployment still runs unchanged on it, with only its image
# swapped: its `npx -y @modelcontextprotocol/server-everything streamableHttp` finds the package in
# the working folder's node_modules and fetches nothing. docs/kind.md says how to swap the image.
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
# A local install in the working folder, not a global one: npx looks for a package asked by name
# alone in the current project's node_modules first and runs it without asking the registry; for a
# global install it asks the registry for the package's manifest first (npm 10), which fails (or
# hangs on retries) without a registry.
WORKDIR /app
RUN npm install --no-audit --no-fund --omit=dev "@modelcontextprotocol/server-everything@${EVERYTHING_VERSION}" \
    && npm cache clean --force
# npx writes its logs under HOME; /tmp is writable (an emptyDir with a read-only root). No update
# check: it would ask the registry for npm's own manifest at every start.
ENV HOME=/tmp \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    PATH=/app/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PORT=3001
USER 10001:10001
EXPOSE 3001
CMD ["mcp-server-everything", "streamableHttp"]
