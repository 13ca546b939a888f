# warmstart service image: API, workers and migrations (the command picks the role).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    WARMSTART_HOME=/data

WORKDIR /app
COPY pyproject.toml README.md* ./
COPY metaknowledge ./metaknowledge
COPY service ./service
COPY migrations ./migrations
# Editable install: the migration scripts are read from /app/migrations next to the package.
RUN pip install -e . \
    && useradd --create-home --uid 10001 warmstart \
    && mkdir -p /data && chown warmstart /data
USER warmstart
VOLUME ["/data"]
EXPOSE 8000
CMD ["warmstart", "serve", "--host", "0.0.0.0", "--port", "8000"]
