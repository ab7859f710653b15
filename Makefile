# Entry points; the logic is in scripts/ so that .ci/run and a shell without make share it.
#   make run                         dev server on http://127.0.0.1:8000/ with demo data
#   make test                        the test suite (TEST_ARGS="tests/loans -x" to narrow it)
#   make lint                        ruff check and ruff format --check, as CI runs them

TEST_ARGS ?=

.PHONY: help install run test lint format

help:
	@echo "make run     install (.venv), migrate, seed_demo, serve http://127.0.0.1:8000/"
	@echo "make test    run the test suite; TEST_ARGS=\"...\" passes arguments to pytest"
	@echo "make lint    ruff check . and ruff format --check ."
	@echo "make format  ruff format . and ruff check --fix ."
	@echo "make install create .venv and install requirements-dev.txt if they changed"

install:
	bash scripts/run.sh --install-only

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh $(TEST_ARGS)

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format: install
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .
