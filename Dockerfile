# The product's image: the project's wheel (what `pip wheel .` builds, and what
# tests/integration/test_installed_wheel.py runs from outside the checkout), CPU-only by default, with the object
# detection weights baked in at build time. One image runs every piece: its CMD is the worker; `integrity gateway`,
# `integrity topics`, `integrity verdicts`... are commands of the same image (docker-compose.yml runs them all).
#
#   docker build -t interview-integrity .
#   docker build -t interview-integrity --build-arg YOLO_FORMAT=onnx .
#   docker run -e KAFKA_BOOTSTRAP_SERVERS=kafka:9092 -e INTEGRITY_WEB_TOKEN="$(openssl rand -hex 32)" interview-integrity
#
# Build arguments (docs/DEPLOYMENT.md):
#   TORCH_INDEX_URL  where torch and torchvision come from: PyTorch's CPU wheels by default, so no CUDA libraries;
#                    e.g. https://download.pytorch.org/whl/cu128 for a GPU image
#   EXTRAS           extras of the wheel to add, comma-separated (`demo`: what `integrity sample` needs)
#   YOLO_MODEL       the Ultralytics model fetched at build time (yolov8n: the model docs/ACCURACY.md measured)
#   YOLO_FORMAT      how the worker runs it: pt (PyTorch, the default), onnx (ONNX Runtime, adds the `onnx` extra)
#                    or tflite (LiteRT). Exported at build time; INTEGRITY_YOLO_WEIGHTS names the exported file,
#                    whose suffix makes Ultralytics pick that backend (streams/vision/objects.py).
#                    OpenVINO is not offered: its runtime is not among the project's dependencies.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Stage 1: the wheel. Only what the package is made of; the tests, docs and tools stay out.
FROM ${PYTHON_IMAGE} AS wheel
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY schemas ./schemas
COPY producers ./producers
COPY streams ./streams
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

# Stage 2: the wheel installed with its pinned dependencies; the base of the image and of the models stage.
FROM ${PYTHON_IMAGE} AS runtime
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG EXTRAS=
ARG YOLO_FORMAT=pt

# YOLO_AUTOINSTALL=false: Ultralytics never pip-installs a missing package by itself, at build or at run time;
# what is missing fails and says which.
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    YOLO_AUTOINSTALL=false \
    YOLO_CONFIG_DIR=/tmp/ultralytics

# libgl/libglib: MediaPipe pulls opencv-contrib-python, which links them even headless. Unpinned: bookworm's
# security updates replace the exact versions.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*

# torch and torchvision first, at the versions the wheel pins (read from its metadata), from TORCH_INDEX_URL:
# left to the wheel's requirements, pip would take them from PyPI with ~3 GB of CUDA libraries a CPU worker never
# loads. The wheel's install keeps them (a local version, +cpu, satisfies its ==) and brings their own
# dependencies from PyPI, hence --no-deps here.
COPY --from=wheel /dist /tmp/dist
# hadolint ignore=SC2086,DL3013
RUN whl=$(ls /tmp/dist/*.whl) \
 && pins=$(python -c "import sys, zipfile; w = zipfile.ZipFile(sys.argv[1]); meta = next(n for n in w.namelist() if n.endswith('.dist-info/METADATA')); print(' '.join(line.split(' ', 1)[1].split(';')[0].replace(' ', '') for line in w.read(meta).decode().splitlines() if line.startswith(('Requires-Dist: torch==', 'Requires-Dist: torchvision=='))))" "$whl") \
 && test -n "$pins" \
 && pip install --no-deps --index-url "${TORCH_INDEX_URL}" $pins \
 && extras="${EXTRAS}" \
 && if [ "${YOLO_FORMAT}" = onnx ]; then extras="${extras:+${extras},}onnx"; fi \
 && pip install "${whl}${extras:+[${extras}]}" \
 && pip check \
 && rm -rf /tmp/dist

# Stage 3: the weights, fetched from Ultralytics and exported at build time, so a container never downloads. The
# export tools stay in this stage: only the model file reaches the image.
FROM runtime AS models
ARG YOLO_MODEL=yolov8n
ARG YOLO_FORMAT=pt
# For YOLO_FORMAT=tflite only, and in this stage only: the image reads .tflite with ai-edge-litert, a dependency.
ARG LITERT_TORCH=litert-torch==0.10.0
WORKDIR /opt/models
# hadolint ignore=DL3013
RUN python -c "from ultralytics import YOLO; YOLO('${YOLO_MODEL}.pt')" \
 && case "${YOLO_FORMAT}" in \
      pt) ;; \
      onnx) python -c "from ultralytics import YOLO; YOLO('${YOLO_MODEL}.pt').export(format='onnx')" ;; \
      tflite) pip install "${LITERT_TORCH}" \
        && python -c "from ultralytics import YOLO; YOLO('${YOLO_MODEL}.pt').export(format='litert')" ;; \
      *) echo "YOLO_FORMAT=${YOLO_FORMAT}: use pt, onnx or tflite" >&2; exit 1 ;; \
    esac \
 && test -s "${YOLO_MODEL}.${YOLO_FORMAT}"

# Stage 4: the image.
FROM runtime
ARG YOLO_MODEL=yolov8n
ARG YOLO_FORMAT=pt
COPY --from=models /opt/models/${YOLO_MODEL}.${YOLO_FORMAT} /opt/models/${YOLO_MODEL}.${YOLO_FORMAT}

# One worker process per container (scale by replicas), on real Kafka; the gateway and the worker's web views
# listen beyond the container. Views listening beyond loopback need INTEGRITY_WEB_TOKEN: without it the worker
# refuses to start (INTEGRITY_WEB_INSECURE=true serves them open, saying so).
# YOLO_OFFLINE: Ultralytics neither checks for updates nor sends its usage events.
ENV INTEGRITY_YOLO_WEIGHTS=/opt/models/${YOLO_MODEL}.${YOLO_FORMAT} \
    INTEGRITY_DATA_DIR=/var/lib/integrity \
    INTEGRITY_PROCESSES=1 \
    INTEGRITY_EMBEDDED_BROKER=false \
    INTEGRITY_GATEWAY_HOST=0.0.0.0 \
    INTEGRITY_WEB_BIND=0.0.0.0 \
    YOLO_OFFLINE=true

# uid and gid 999, as deploy/k8s runs it (runAsUser); a numeric USER, so that runAsNonRoot can tell it is not root.
RUN groupadd --system --gid 999 integrity \
 && useradd --system --uid 999 --gid 999 --home /var/lib/integrity integrity \
 && mkdir -p /var/lib/integrity "${YOLO_CONFIG_DIR}" \
 && chown integrity:integrity /var/lib/integrity "${YOLO_CONFIG_DIR}"
USER 999:999
WORKDIR /var/lib/integrity
EXPOSE 6066 8080
VOLUME ["/var/lib/integrity"]

# Liveness of the worker (its event loop answers): the slim image has no curl. Models load in the first minute.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/live/' % os.environ.get('INTEGRITY_WEB_PORT', '6066'), timeout=4)"]

# Web views listen on every interface (INTEGRITY_WEB_BIND); the advertised host (table_route redirects) is the
# container's name.
CMD ["sh", "-c", "INTEGRITY_WEB_HOST=${INTEGRITY_WEB_HOST:-$(hostname)} exec integrity worker"]
