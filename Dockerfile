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

# Object-detection weights are fetched and baked in at build time, so a container never downloads at
# start. YOLO_WEIGHTS is an Ultralytics model name; YOLO_EXPORT optionally exports it with Ultralytics'
# own exporter to a faster backend (e.g. "onnx" or "openvino", whose runtimes must then be installed).
ARG YOLO_WEIGHTS=yolov8n.pt
ARG YOLO_EXPORT=""
ENV YOLO_CONFIG_DIR=/tmp/ultralytics
RUN mkdir -p /opt/models && cd /opt/models \
 && python -c "from ultralytics import YOLO; YOLO('${YOLO_WEIGHTS}')" \
 && if [ -n "${YOLO_EXPORT}" ]; then python -c "from ultralytics import YOLO; print(YOLO('${YOLO_WEIGHTS}').export(format='${YOLO_EXPORT}'))"; fi \
 && ls -la /opt/models
ENV INTEGRITY_YOLO_WEIGHTS=/opt/models/${YOLO_WEIGHTS}

RUN useradd --system --home /app integrity && mkdir -p /var/lib/integrity && chown integrity /var/lib/integrity
USER integrity
EXPOSE 6066
VOLUME ["/var/lib/integrity"]
# Web views bind every interface; the advertised host (table_route redirects) is the container's name.
CMD ["sh", "-c", "INTEGRITY_WEB_HOST=${INTEGRITY_WEB_HOST:-$(hostname)} exec integrity worker"]
