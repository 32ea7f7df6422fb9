# The tutorial's second upstream: the Python website fetcher (FastMCP from the `mcp` package, under 2)
# with the versions test/fixtures/website_fetcher/requirements.txt pins, in a virtualenv whose python3
# comes first on PATH. The tutorial's Deployment runs `python3 /app/app.py` with app.py mounted from
# its ConfigMap, so the image only has to bring an interpreter with those packages; it carries the
# fixture's app.py (host and port from HOST and PORT) so it also runs on its own.
#
#   docker build -f deploy/image/website-fetcher.Dockerfile -t mcp-website-fetcher:0.1.0 test/fixtures/website_fetcher
#
# The build context is test/fixtures/website_fetcher (app.py, requirements.txt).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="mcp-website-fetcher" \
      org.opencontainers.image.description="The mcpmux tutorial's Python website fetcher (FastMCP, mcp<2)"
WORKDIR /app
COPY requirements.txt ./
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r requirements.txt \
    && /opt/venv/bin/python -c "import httpx, mcp.server.fastmcp"
COPY app.py ./
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/tmp \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000
USER 10001:10001
EXPOSE 8000
CMD ["python3", "/app/app.py"]
