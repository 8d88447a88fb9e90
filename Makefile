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

lint: ## cargo fmt --check, clippy -D warnings, no import cycle between modules of a crate
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	python3 -m unittest discover -s scripts -p 'test_module_cycles.py'
	python3 -m unittest discover -s bench -p 'test_*.py'
	python3 -m unittest discover -s bench/api -p 'test_*.py'
	python3 scripts/module_cycles.py crates bench

# The tools tests start moto's S3-compatible server (pinned in crates/tools/tests/requirements.txt)
# and find it through MOTO_SERVER; without it they fail, they do not skip.
TOOLS_TEST_DEPS = .venv/.tools-test-deps
$(TOOLS_TEST_DEPS): crates/tools/tests/requirements.txt
	@[ -x .venv/bin/python ] || python3 -m venv .venv
	.venv/bin/pip install -q --disable-pip-version-check -r crates/tools/tests/requirements.txt
	@touch $@

test-rust: $(TOOLS_TEST_DEPS) ## Unit + integration tests (starts a throwaway PostgreSQL unless DATABASE_URL is set)
	MOTO_SERVER=$(abspath .venv/bin/moto_server) $(CARGO) test --workspace --locked

# The browser check serves both sites with the real marketing-server (debug build) in headless
# Chromium (Debian's `chromium`, installed by .ci/run); a missing browser is a failure, not a skip.
test-sites: ## Static sites: HTML/CSS/JS checks, JS unit tests, both sites in headless Chromium
	python3 sites/check.py
	python3 -m unittest discover -s sites/tests -p 'test_*.py'
	node --test sites/tests/
	$(CARGO) build --locked -p marketing-server
	MARKETING_SERVER=$${CARGO_TARGET_DIR:-target}/debug/marketing-server node sites/tests/browser.mjs

# Order: cheap and most likely to fail first. `images` always runs (BuildKit makes an unchanged tree
# a cache hit), so the end-to-end suite never tests a stale image; it builds the bases it needs.
test: lint audit audit-selftest sqlx-check test-rust fuzz test-sites k8s-validate test-deploy test-alerts images test-bases e2e e2e-paid ## Everything CI runs: lint, Rust tests, fuzzing, k8s validation, alert rules, image build + end-to-end

.PHONY: help build lint test-rust test-sites test

# ---- Images, compose stacks, end-to-end suite (docker/, compose/, scripts/, e2e/) -------------
# Every target here works from a bare Docker store: scripts/bases.sh uses the upstream base images
# when they are in the store or pullable, and otherwise builds the offline stand-ins from Debian 13
# packages (missing ones only). BASES=offline skips the pull attempt; BASES=upstream forbids the
# stand-ins. A failing step names the command to run next ($(RERUN)).
PROJECT ?= ledger
TAG ?= dev
IMAGES := backend marketing frontend tools backup
# STRIPE_STAND_IN=1 runs the prod stack with the local Stripe stand-in (test-only image, built by
# `make images TARGETS=stripe-stand-in` or `make e2e-paid`; compose/docker-compose.stripe-stand-in.yml
# changes the backend's STRIPE_API_BASE and nothing else), so Subscribe works on a laptop without
# a Stripe account. Otherwise STRIPE_API_KEY/STRIPE_PRICE_ID of a Stripe test account are used.
STRIPE_STAND_IN ?= 0
PROD_COMPOSE_FILES = -f compose/docker-compose.production.yml $(if $(filter 1,$(STRIPE_STAND_IN)),-f compose/docker-compose.stripe-stand-in.yml)
IMAGE_SIZE_LIMIT_MB ?= 30
DEV_IMAGE ?= $(PROJECT)-dev:latest
RERUN ?= make $(or $(MAKECMDGOALS),help)
export TAG DEV_IMAGE RERUN
BASES_SH = DOCKER=$(DOCKER) scripts/bases.sh
PROD_COMPOSE = $(COMPOSE) -p $(PROJECT) $(PROD_COMPOSE_FILES)
DEV_COMPOSE = $(COMPOSE) -p $(PROJECT)-dev -f compose/docker-compose.yml
E2E_PYTHON ?= .venv/bin/python

offline-bases: ## Build every offline stand-in (Rust builder, distroless-cc, PostgreSQL 17) from Debian 13 packages
	DOCKER=$(DOCKER) scripts/offline-bases.sh

# The Cargo profile of the image binaries (Cargo.toml: what each costs at run time and to rebuild).
CARGO_PROFILE ?= release
images: ## Build backend/marketing/frontend/tools/backup images (CI runs inside; offline, vendored crates)
	DOCKER=$(DOCKER) TAG=$(TAG) CARGO_PROFILE=$(CARGO_PROFILE) scripts/build-images.sh

images-if-missing:
	@for i in $(IMAGES); do $(DOCKER) image inspect $$i:$(TAG) >/dev/null 2>&1 || missing="$$missing $$i:$(TAG)"; done; \
	  if [ -n "$$missing" ]; then echo "==> missing images:$$missing; building them"; $(MAKE) --no-print-directory images; \
	  else echo "==> images $(IMAGES) (tag $(TAG)) exist; \`make images\` rebuilds them"; fi

# The dev image is built with the docker CLI, not `compose --build`: docker-compose 1.x refuses to
# build while DOCKER_BUILDKIT=1 (exported above) unless the buildx plugin is installed. The
# Dockerfile copies nothing, so it is sent without a context.
start: ## Dev stack (cargo run from the mounted source) on :5000 :3000 :3002
	$(CARGO) fetch --locked
	$(BASES_SH) builder postgres -- sh -c 'echo "==> building the dev image $$DEV_IMAGE on $$RUST_IMAGE" >&2 && \
	  $(DOCKER) build -q -t "$$DEV_IMAGE" --build-arg RUST_IMAGE="$$RUST_IMAGE" - < docker/Dockerfile.development >/dev/null && \
	  $(DEV_COMPOSE) up -d'
	DOCKER=$(DOCKER) scripts/compose-wait.sh 1200 $(DEV_COMPOSE)

start-prod: images-if-missing ## Prod stack from the hardened images, waits until every service is healthy
	$(BASES_SH) postgres -- $(PROD_COMPOSE) up -d
	DOCKER=$(DOCKER) scripts/compose-wait.sh 180 $(PROD_COMPOSE)

down: ## Stop both stacks (data volumes kept; `make down DOWN_FLAGS=-v` drops them)
	$(PROD_COMPOSE) down --remove-orphans $(DOWN_FLAGS)
	$(DEV_COMPOSE) down --remove-orphans $(DOWN_FLAGS)

db-reset: ## Drop, recreate, migrate and seed the prod stack's database (tools db-reset --seed)
	$(PROD_COMPOSE) run --rm -T --no-deps migrate db-reset --seed

# Backups of the prod stack (compose service `backup`): into BACKUP_DIR/store, encrypted to a
# local-only age key pair generated on first use in BACKUP_DIR/keys (git ignores .backups/). The
# container runs as the invoking user so the files stay theirs. `age-keygen`: Debian package age.
BACKUP_DIR ?= $(abspath .backups)
BACKUP_KEY = $(BACKUP_DIR)/keys/backup.key
RESTORE_FLAGS ?= --clean
BACKUP_RUN = env BACKUP_DIR=$(BACKUP_DIR) $(PROD_COMPOSE) run --rm -T --user "$$(id -u):$$(id -g)" backup

$(BACKUP_KEY):
	@command -v age-keygen >/dev/null || { echo "error: age-keygen not found (apt-get install age)" >&2; exit 1; }
	@mkdir -p $(dir $@) $(BACKUP_DIR)/store
	@umask 077 && age-keygen -o $@ 2>/dev/null
	@echo "==> generated the local-only backup key $@ (public key $$(age-keygen -y $@)); never commit it"

db-backup: images-if-missing $(BACKUP_KEY) ## Back up the prod stack's database into .backups/store (age-encrypted, tools db-backup)
	$(BASES_SH) postgres -- env BACKUP_RECIPIENTS="$$(age-keygen -y $(BACKUP_KEY))" $(BACKUP_RUN) db-backup

db-restore: images-if-missing $(BACKUP_KEY) ## Restore the newest backup in .backups/store into the prod stack's database (RESTORE_FLAGS=--clean)
	$(BASES_SH) postgres -- $(BACKUP_RUN) db-restore $(RESTORE_FLAGS)

E2E_TOOLS = .venv/.e2e-tools
$(E2E_TOOLS): e2e/requirements.txt
	@[ -x $(E2E_PYTHON) ] || python3 -m venv .venv
	$(E2E_PYTHON) -m pip install -q --disable-pip-version-check -r e2e/requirements.txt
	@touch $@

e2e: images-if-missing $(E2E_TOOLS) ## End-to-end suite against the prod stack (brings it up, tears it down)
	$(BASES_SH) postgres -- env DOCKER=$(DOCKER) COMPOSE="$(COMPOSE)" PROJECT=$(PROJECT) \
	  $(E2E_PYTHON) -m pytest -q e2e --ignore=e2e/bases --ignore=e2e/test_paid_signup.py

# The paid sign-up browser suite (e2e/test_paid_signup.py: chromium + chromium-driver + selenium), last in `make test`
# against the prod stack plus the Stripe stand-in. Screenshots of a failed run: e2e/screenshots/.
e2e-paid: $(E2E_TOOLS) ## Browser suite: marketing page -> sign up -> data -> Stripe (stand-in) checkout -> paywall
	DOCKER=$(DOCKER) TAG=$(TAG) CARGO_PROFILE=$(CARGO_PROFILE) TARGETS="backend marketing frontend tools backup stripe-stand-in" scripts/build-images.sh
	$(BASES_SH) postgres -- env DOCKER=$(DOCKER) COMPOSE="$(COMPOSE)" PROJECT=$(PROJECT) E2E_STRIPE_STAND_IN=1 \
	  $(E2E_PYTHON) -m pytest -q e2e/test_paid_signup.py

# Proof that a missing base image is rebuilt on the way to a healthy stack: a scratch
# runtime stand-in name, a scratch image tag and compose project; the builder stage stays cached.
# The proof counts what start-prod builds, so the bases it does not make missing (the builder and
# PostgreSQL) are made present first: on a fresh machine the PostgreSQL stand-in does not exist yet.
test-bases: $(E2E_TOOLS) ## A missing base image is rebuilt automatically and the stack comes up
	$(BASES_SH) builder postgres >/dev/null
	DOCKER=$(DOCKER) COMPOSE="$(COMPOSE)" $(E2E_PYTHON) -m pytest -q e2e/bases

image-sizes: ## Print the final image sizes (target: at most 30 MB each)
	@for i in $(IMAGES); do \
	  b=$$($(DOCKER) image inspect -f '{{.Size}}' $$i:$(TAG)) || exit 1; \
	  awk -v n=$$i:$(TAG) -v b=$$b -v lim=$(IMAGE_SIZE_LIMIT_MB) \
	    'BEGIN { mb = b / 1000000; printf "  %-16s %6.1f MB%s\n", n, mb, (mb > lim ? "  OVER LIMIT" : "") }'; \
	done

.PHONY: offline-bases images images-if-missing start start-prod down db-reset db-backup db-restore e2e e2e-paid test-bases image-sizes

# --- Kubernetes manifests: offline validation (k8s/) -------------------------
# Renders every kustomization, validates it strictly against each supported Kubernetes version
# (built-in kinds) and against the upstream CRD schemas in CRDS_DIR (custom resources: Gateway
# API, Envoy Gateway, cert-manager, prometheus-operator), lints it, runs the project's policy
# tests, and checkov (kubernetes + Dockerfiles) with the documented skips.
K8S_VERSIONS ?= 1.35 1.36 1.37
# Unmodified upstream CRD files, outside the repository (k8s/README.md names the releases).
CRDS_DIR ?= ../shared/crds
K8S_VENV ?= .venv
K8S_BUILD ?= .build/k8s
K8S_TARGETS := overlays/development overlays/preview overlays/production overlays/production-cutover descheduler platform
K8S_PY := $(K8S_VENV)/bin
# Skips for one scope from k8s/checkov-skips.txt, as a comma-separated list.
k8s_skips = $(shell awk '$$1 == "$(1)" { printf "%s%s", sep, $$2; sep = "," }' k8s/checkov-skips.txt)

$(K8S_VENV)/.k8s-tools: k8s/requirements.txt k8s/constraints.txt
	test -x $(K8S_PY)/python || python3 -m venv $(K8S_VENV)
	$(K8S_PY)/pip install --quiet --disable-pip-version-check -r k8s/requirements.txt -c k8s/constraints.txt
	touch $@

k8s-tools: $(K8S_VENV)/.k8s-tools ## Install the k8s validation tools into .venv (pinned)

k8s-render: ## Render every kustomization into .build/k8s/*.yaml with kubectl kustomize
	@mkdir -p $(K8S_BUILD) && rm -f $(K8S_BUILD)/*.yaml
	@for t in $(K8S_TARGETS); do \
	  echo "kubectl kustomize k8s/$$t > $(K8S_BUILD)/$${t##*/}.yaml"; \
	  kubectl kustomize k8s/$$t > $(K8S_BUILD)/$${t##*/}.yaml || exit 1; \
	done

k8s-validate: $(K8S_VENV)/.k8s-tools k8s-render ## Validate k8s/: schemas (Kubernetes + CRDs, strict), yamllint, policy tests, checkov
	$(K8S_PY)/python k8s/tests/schema.py --crds $(CRDS_DIR) $(addprefix -k ,$(K8S_VERSIONS)) $(K8S_BUILD)/*.yaml
	$(K8S_PY)/yamllint --strict -c k8s/yamllint.yaml k8s $(K8S_BUILD)
	K8S_RENDERED=$(abspath $(K8S_BUILD)) CRDS_DIR=$(abspath $(CRDS_DIR)) K8S_VERSIONS="$(K8S_VERSIONS)" \
	  $(K8S_PY)/pytest -q -p no:cacheprovider k8s/tests
	$(K8S_PY)/checkov --quiet --compact --skip-download --framework kubernetes \
	  -d $(K8S_BUILD) --skip-check $(call k8s_skips,k8s)
	@if [ -f docker/Dockerfile ]; then set -x; $(K8S_PY)/checkov --quiet --compact --skip-download \
	  --framework dockerfile -f docker/Dockerfile --skip-check $(call k8s_skips,dockerfile); \
	  else echo "docker/Dockerfile not present: Dockerfile scan skipped"; fi
	@if [ -f docker/Dockerfile.development ]; then set -x; $(K8S_PY)/checkov --quiet --compact --skip-download \
	  --framework dockerfile -f docker/Dockerfile.development --skip-check $(call k8s_skips,dockerfile-dev); \
	  fi

# Alerting rules: the PrometheusRule manifest is the one copy; its groups are extracted into a
# rules file for promtool (Debian's `prometheus` package), which checks them and runs the unit
# tests in k8s/tests/alerts.test.yaml (every alert fires, and stays quiet on its look-alikes).
ALERTS_BUILD ?= .build/alerts
test-alerts: $(K8S_VENV)/.k8s-tools ## promtool check + unit tests of every alert in k8s/base/alerts.yaml
	@mkdir -p $(ALERTS_BUILD)
	$(K8S_PY)/python scripts/prometheus_rules.py $(ALERTS_BUILD)/rules.yaml k8s/base/alerts.yaml
	cp k8s/tests/alerts.test.yaml $(ALERTS_BUILD)/alerts.test.yaml
	promtool check rules $(ALERTS_BUILD)/rules.yaml
	promtool test rules $(ALERTS_BUILD)/alerts.test.yaml

.PHONY: k8s-tools k8s-render k8s-validate test-alerts

# --- Releases: make deploy / make preview (scripts/deploy.sh, scripts/preview.sh) -------------
# deploy renders a staged copy of k8s/ with the release (TAG) and the secrets filled in,
# validates it offline (the same strict schemas as k8s-validate), applies it and waits in order:
# database, the release's migration Job (on failure: its log, exit 1, nothing else touched),
# every Deployment. DRY_RUN=1 renders and validates only; ROLLBACK=1 puts an older release's
# images back without its migration Job (the schema stays). Secrets come from the environment
# (`__NAME__` placeholders <- $NAME) and `tools inject-stripe-secret` (STRIPE_* settings, the
# endpoint store STRIPE_STORE). docs/runbook-releases.md: rollbacks, failed migrations.
KUBECTL ?= kubectl
ENV ?=
DRY_RUN ?=
ROLLBACK ?=
STRIPE_STORE ?= $(abspath .secrets/stripe-webhooks.json)
DEPLOY_TOOLS = $(abspath $(or $(CARGO_TARGET_DIR),target))/debug/tools
DEPLOY_VALIDATE = $(abspath $(K8S_PY))/python $(abspath k8s/tests/schema.py) --crds $(abspath $(CRDS_DIR)) $(addprefix -k ,$(K8S_VERSIONS))
DEPLOY_ENV = KUBECTL="$(KUBECTL)" TOOLS="$(DEPLOY_TOOLS)" STRIPE_STORE="$(STRIPE_STORE)" \
  K8S_VALIDATE="$(DEPLOY_VALIDATE)" DRY_RUN="$(DRY_RUN)" ROLLBACK="$(ROLLBACK)"

deploy: $(K8S_VENV)/.k8s-tools ## Deploy a release: make deploy ENV=<overlay> TAG=<tag> [DRY_RUN=1] [ROLLBACK=1] (KUBECTL overridable)
	@[ -n "$(ENV)" ] && [ "$(origin TAG)" != file ] || { echo "error: usage: make deploy ENV=<overlay> TAG=<release tag> [DRY_RUN=1]" >&2; exit 2; }
	$(CARGO) build --locked -q -p tools
	$(DEPLOY_ENV) scripts/deploy.sh "$(ENV)" "$(TAG)"

# A preview per branch: namespace preview-<branch> (DNS-safe, scripts/preview.sh), rendered from
# the template overlay k8s/overlays/preview, deployed by scripts/deploy.sh; TAG defaults to the
# branch's image tag (`scripts/preview.sh tag BRANCH`). preview-down deletes the namespace and its
# Stripe webhook endpoint (tools stripe-webhook delete, which also forgets it in STRIPE_STORE).
BRANCH ?=
preview: $(K8S_VENV)/.k8s-tools ## Deploy a branch preview: make preview BRANCH=<name> [TAG=<image tag>]
	@[ -n "$(BRANCH)" ] || { echo "error: usage: make preview BRANCH=<branch> [TAG=<image tag>]" >&2; exit 2; }
	$(CARGO) build --locked -q -p tools
	$(DEPLOY_ENV) scripts/preview.sh up "$(BRANCH)" $(if $(filter-out file,$(origin TAG)),"$(TAG)")

preview-down: ## Remove a branch preview: its namespace and its Stripe webhook endpoint
	@[ -n "$(BRANCH)" ] || { echo "error: usage: make preview-down BRANCH=<branch>" >&2; exit 2; }
	$(CARGO) build --locked -q -p tools
	KUBECTL="$(KUBECTL)" TOOLS="$(DEPLOY_TOOLS)" STRIPE_STORE="$(STRIPE_STORE)" scripts/preview.sh down "$(BRANCH)"

# The deploy and preview scripts against a recording stand-in for kubectl (it answers canned
# cluster states and passes `kubectl kustomize` to the real one), the real tools binary, and a
# local Stripe stand-in: order of the steps, the failure paths, the namespace names.
test-deploy: $(K8S_VENV)/.k8s-tools ## Tests of make deploy / make preview (fake kubectl, real rendering and tools)
	$(CARGO) build --locked -q -p tools
	TOOLS="$(DEPLOY_TOOLS)" K8S_VALIDATE="$(DEPLOY_VALIDATE)" \
	  $(K8S_PY)/pytest -q -p no:cacheprovider scripts/tests

.PHONY: deploy preview preview-down test-deploy

# --- Benchmarks (bench/) ---------------------------------------------------------------
# Loopback only, bounded, cleans up after itself; about 13 minutes at the defaults on 2 CPUs, plus
# the release and image builds when they are not built yet. Knobs: bench/run.sh's header
# (BENCH_ROUNDS=3, BENCH_DURATION=5s, BENCH_QUICK=1 for a smoke run, ...). Results:
# bench/results/latest.md; `make bench-doc` copies its tables into BENCHMARKS.md.
# bench-deps: Debian's node-pg hard-depends on node-libpq, a native addon built for Debian's own
# nodejs, which conflicts with a newer nodejs; pg's pure-JS client needs no libpq, so the package is
# unpacked under .build/node-pg instead of installed (bench/node-peer/README.md).
BENCH_APT := wrk nginx-light node-express node-async node-readable-stream node-split2 node-xtend valgrind strace
NODE_PG := .build/node-pg/usr/share/nodejs/pg/package.json
bench-deps: ## Install what `make bench` needs (wrk, nginx, express; node-pg unpacked under .build/)
	@missing=""; for p in $(BENCH_APT); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then echo "==> apt-get install$$missing"; \
	    apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; fi
	@[ -f $(NODE_PG) ] || { rm -rf .build/node-pg .build/node-pg.deb && mkdir -p .build/node-pg.deb && \
	  (cd .build/node-pg.deb && apt-get download -q node-pg 2>/dev/null) && \
	  dpkg-deb -x .build/node-pg.deb/node-pg_*.deb .build/node-pg && rm -rf .build/node-pg.deb && \
	  echo "==> node-pg unpacked into .build/node-pg"; }

bench: bench-deps ## Benchmarks: static vs nginx (logs on and off), API vs Node + pg and pgbench, RSS, startup, sizes
	CARGO=$(CARGO) bench/run.sh

bench-doc: ## Copy the tables of bench/results/latest.md into BENCHMARKS.md (after an idle `make bench`)
	python3 bench/to_benchmarks.py bench/results/latest.md BENCHMARKS.md

# Docker: run it alone on the machine (it times real image builds).
bench-rebuild: ## Time `make images` after a one-line edit, per Cargo profile (bench/results/rebuild.md)
	DOCKER=$(DOCKER) bench/rebuild.sh

.PHONY: bench-deps bench bench-doc bench-rebuild

# --- Backend: sqlx offline query data (.sqlx/) -----------------------------------------
# Builds read the committed .sqlx/ (SQLX_OFFLINE=true in .cargo/config.toml), so neither CI nor the
# image build needs a database. Both targets compile the backend against a throwaway PostgreSQL
# with the migrations applied (test-support's `with-postgres`, the cluster the tests use: server
# binaries from /usr/lib/postgresql/*/bin or PG_BIN, run as the postgres user when root); no
# sqlx-cli needed.
sqlx-prepare: ## Regenerate .sqlx/ after changing a query or a migration (commit the result)
	CARGO=$(CARGO) crates/backend/scripts/sqlx-prepare.sh .sqlx

sqlx-check: ## Fail when .sqlx/ is stale (regenerates into a temp dir and diffs)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  CARGO=$(CARGO) crates/backend/scripts/sqlx-prepare.sh "$$tmp/sqlx" && \
	  if diff -r .sqlx "$$tmp/sqlx"; then echo ".sqlx/ is up to date"; else \
	    echo "error: .sqlx/ is stale: run 'make sqlx-prepare' and commit .sqlx/" >&2; exit 1; fi

.PHONY: sqlx-prepare sqlx-check

# --- Security advisories: offline cargo audit (scripts/audit.sh, .cargo/audit.toml) ---
# The RustSec advisory database is a snapshot beside the repository (no network in CI); point
# RUSTSEC_DB at a fresher checkout of rustsec/advisory-db to audit against newer advisories.
RUSTSEC_DB ?= ../shared/rustsec-advisory-db

# cargo-audit (and cargo-fuzz) come as pinned prebuilt wheels into .venv (scripts/cargo-tools.txt);
# `cargo audit` finds them through PATH.
CARGO_TOOLS = .venv/.cargo-tools
$(CARGO_TOOLS): scripts/cargo-tools.txt
	@[ -x .venv/bin/python ] || python3 -m venv .venv
	.venv/bin/pip install -q --disable-pip-version-check --require-hashes -r scripts/cargo-tools.txt
	@touch $@

audit: $(CARGO_TOOLS) ## cargo audit of Cargo.lock against the RustSec snapshot in RUSTSEC_DB, offline
	PATH="$(abspath .venv/bin):$$PATH" RUSTSEC_DB=$(RUSTSEC_DB) CARGO=$(CARGO) scripts/audit.sh

audit-selftest: $(CARGO_TOOLS) ## Prove the audit fails: a fake advisory for a locked crate, in a temp copy of the DB
	PATH="$(abspath .venv/bin):$$PATH" RUSTSEC_DB=$(RUSTSEC_DB) CARGO=$(CARGO) scripts/audit.sh selftest

.PHONY: audit audit-selftest

# cargo-fuzz targets in fuzz/ (a crate outside the workspace), each run FUZZ_SECONDS from the seeds
# in fuzz/seeds/; how and why (RUSTC_BOOTSTRAP on stable, the sanitizer): scripts/fuzz.sh.
FUZZ_SECONDS ?= 30
fuzz: $(CARGO_TOOLS) ## Fuzz each parser target for FUZZ_SECONDS (30): no crash, no panic, no hang
	FUZZ_SECONDS=$(FUZZ_SECONDS) CARGO_FUZZ=$(abspath .venv/bin/cargo-fuzz) scripts/fuzz.sh

.PHONY: fuzz
