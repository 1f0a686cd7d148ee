# The worker image, installed from the project's wheel (what `pip wheel .` builds, and what
# tests/integration/test_installed_wheel.py runs from outside the checkout).
# Build: docker build -t interview-integrity .
# Run against real Kafka: docker run -e KAFKA_BOOTSTRAP_SERVERS=kafka:9092 -e INTEGRITY_EMBEDDED_BROKER=false interview-integrity

# Stage 1: the wheel. Only what the package is made of; the tests, docs and tools stay out.
FROM python:3.11-slim-bookworm AS wheel
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY schemas ./schemas
COPY producers ./producers
COPY streams ./streams
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

# Stage 2: the runtime, with the wheel and its pinned dependencies.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    INTEGRITY_DATA_DIR=/var/lib/integrity

# libgl/libglib: MediaPipe pulls opencv-contrib-python, which links them even headless.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*

COPY --from=wheel /dist /tmp/dist
RUN pip install /tmp/dist/*.whl && pip check && rm -rf /tmp/dist

# Object-detection weights are fetched and baked in at build time, so a container never downloads at
# start. YOLO_WEIGHTS is an Ultralytics model name; the worker runs it with the backend its format implies.
ARG YOLO_WEIGHTS=yolov8n.pt
ENV YOLO_CONFIG_DIR=/tmp/ultralytics
RUN mkdir -p /opt/models && cd /opt/models \
 && python -c "from ultralytics import YOLO; YOLO('${YOLO_WEIGHTS}')" \
 && ls -la /opt/models
ENV INTEGRITY_YOLO_WEIGHTS=/opt/models/${YOLO_WEIGHTS}

RUN useradd --system --home /var/lib/integrity integrity && mkdir -p /var/lib/integrity \
 && chown integrity /var/lib/integrity
USER integrity
WORKDIR /var/lib/integrity
EXPOSE 6066
VOLUME ["/var/lib/integrity"]
# Web views bind every interface; the advertised host (table_route redirects) is the container's name.
CMD ["sh", "-c", "INTEGRITY_WEB_HOST=${INTEGRITY_WEB_HOST:-$(hostname)} exec integrity worker"]
