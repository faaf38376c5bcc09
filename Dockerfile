# Unavoz: `unavoz run` on a slim Python image, as a non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    UNAVOZ_HOST=0.0.0.0 \
    UNAVOZ_PORT=8080 \
    UNAVOZ_FEED=/data/status_feed.yaml \
    UNAVOZ_DATABASE_URL=sqlite:////data/unavoz.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY channels ./channels
RUN pip install --no-compile . \
    && useradd --system --uid 10001 --home-dir /data unavoz \
    && mkdir /data

# The example feed is the default; mount your own feed directory over /data. The directory must
# be writable: changes are written to a temporary file there and renamed over the feed.
COPY --chown=unavoz:unavoz status_feed.yaml status_feed.schema.json /data/
RUN chown unavoz:unavoz /data

USER unavoz
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2); sys.exit(0)"]
CMD ["unavoz", "run"]
