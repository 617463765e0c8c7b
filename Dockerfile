# The sla-processor image used by docker-compose.yml (worker, topics, simulator services).
#   docker build -t sla-processor .   then   docker run --rm sla-processor --help
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Only what the package build needs; versions pinned by the same constraints as development.
COPY pyproject.toml constraints.txt README.md ./
COPY processor ./processor
RUN pip install -c constraints.txt . \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin sla \
    && mkdir -p /data \
    && chown sla /data

# Table state (RocksDB) lives in /data; mount a volume there to keep it across restarts.
ENV SLA_DATA_DIR=/data
USER sla
EXPOSE 6066
ENTRYPOINT ["sla-processor"]
CMD ["--help"]
