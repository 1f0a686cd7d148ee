# The README's two commands: `make demo` and `make test`. Both set everything up first.
.PHONY: setup demo demo-gateway test lint typecheck unit integration docs screenshot

# Real COCO weights for object detection, from ../shared/models beside the checkout (never copied into
# the repo). Without them the worker runs with object detection off, and says so.
SHARED_WEIGHTS := $(abspath $(CURDIR)/../shared/models/yolov8n_full_integer_quant.tflite)
INTEGRITY_YOLO_WEIGHTS ?= $(if $(wildcard $(SHARED_WEIGHTS)),$(SHARED_WEIGHTS),)
export INTEGRITY_YOLO_WEIGHTS

# Python (scripts/setup.sh), then the Node consumer's packages (clients/js/consumer) from its lock file
# when they are missing or older than it; without npm the consumer's test skips, and this says so.
CONSUMER_JS := clients/js/consumer
setup:
	@scripts/setup.sh
	@if ! command -v npm >/dev/null; then \
	  echo "setup: no npm (apt-get install nodejs npm): the Node consumer's test will skip" >&2; \
	elif [ ! $(CONSUMER_JS)/node_modules/.package-lock.json -nt $(CONSUMER_JS)/package-lock.json ]; then \
	  echo "setup: installing the Node consumer's packages (npm ci in $(CONSUMER_JS))"; \
	  (cd $(CONSUMER_JS) && npm ci --no-audit --no-fund --loglevel=error); \
	fi

demo: setup
	.venv/bin/integrity demo

# The demo with the gateway: after the sample session, try your own webcam at http://127.0.0.1:8080/demo/.
demo-gateway: setup
	.venv/bin/integrity demo --gateway

test: setup lint typecheck
	.venv/bin/python -m pytest -ra

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports

typecheck: setup
	.venv/bin/mypy

unit: setup
	.venv/bin/python -m pytest -ra tests/unit

integration: setup
	.venv/bin/python -m pytest -ra tests/integration

# The generated parts of the docs: docs/CONFIGURATION.md's table (from streams/settings.py) and
# docs/COMMANDS.md (from the command's parser). A test fails when either is out of date.
docs: setup
	.venv/bin/python scripts/docs_reference.py

# The README's dashboard screenshot: a worker on the embedded broker, the dashboard open in headless
# Chromium while the sample session plays, docs/dashboard.png at its end.
screenshot: setup
	.venv/bin/python scripts/dashboard_screenshot.py docs/dashboard.png
