# The worker image. Build: docker build -t interview-integrity .
# Run against real Kafka: docker run -e KAFKA_BOOTSTRAP_SERVERS=kafka:9092 interview-integrity
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    INTEGRITY_DATA_DIR=/var/lib/integrity

# libgl/libglib: MediaPipe pulls opencv-contrib-python, which links them even headless.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY streams ./streams
COPY producers ./producers
RUN pip install . && pip check

RUN useradd --system --home /app integrity && mkdir -p /var/lib/integrity && chown integrity /var/lib/integrity
USER integrity
EXPOSE 6066
VOLUME ["/var/lib/integrity"]
# Web views bind every interface; the advertised host (table_route redirects) is the container's name.
CMD ["sh", "-c", "INTEGRITY_WEB_HOST=${INTEGRITY_WEB_HOST:-$(hostname)} exec integrity worker"]
