# The README's two commands: `make demo` and `make test`. Both set everything up first.
.PHONY: setup demo test lint unit integration

setup:
	@scripts/setup.sh

demo: setup
	.venv/bin/integrity demo

test: setup lint
	.venv/bin/python -m pytest -ra

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

unit: setup
	.venv/bin/python -m pytest -ra tests/unit

integration: setup
	.venv/bin/python -m pytest -ra tests/integration
