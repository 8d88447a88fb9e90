# Build, test and run the stack. `make help` lists the targets.
# Docker: the 20.10 client at /usr/bin/docker supports BuildKit here; override DOCKER if needed.
SHELL := /bin/bash
DOCKER ?= $(shell [ -x /usr/bin/docker ] && echo /usr/bin/docker || echo docker)
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
export DOCKER_BUILDKIT := 1
CARGO ?= cargo

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[1m%-16s\033[0m %s\n", $$1, $$2}'

build: ## Debug build of every binary
	$(CARGO) build --workspace --locked

lint: ## cargo fmt --check and clippy -D warnings
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

test-rust: ## Unit + integration tests (starts a throwaway PostgreSQL unless DATABASE_URL is set)
	$(CARGO) test --workspace --locked

test: lint test-rust ## Everything CI runs: lint, Rust tests, k8s validation, image build + end-to-end
