"""Fixtures for the end-to-end suite: the prod compose stack, brought up once and torn down
(with its volumes) at the end. Everything here talks only to the project's own containers
through the host ports the compose file publishes (127.0.0.1:5000, :3000, :3002)."""

import os
import shlex
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "compose" / "docker-compose.production.yml"
# With E2E_STRIPE_STAND_IN=1 (`make e2e-paid`): the prod stack plus the local Stripe stand-in;
# the backend differs in STRIPE_API_BASE only.
STRIPE_STAND_IN = os.environ.get("E2E_STRIPE_STAND_IN") == "1"
STRIPE_STAND_IN_FILE = ROOT / "compose" / "docker-compose.stripe-stand-in.yml"
COMPOSE_FILES = ["-f", str(COMPOSE_FILE)] + (["-f", str(STRIPE_STAND_IN_FILE)] if STRIPE_STAND_IN else [])
DOCKER = os.environ.get("DOCKER", "docker")
COMPOSE = shlex.split(os.environ.get("COMPOSE", "docker-compose"))
PROJECT = os.environ.get("PROJECT", "ledger")
TAG = os.environ.get("TAG", "dev")
IMAGES = ["backend", "marketing", "frontend", "tools", "backup"] + (["stripe-stand-in"] if STRIPE_STAND_IN else [])
SERVICES = ["backend", "marketing", "frontend"]

BACKEND = "http://127.0.0.1:5000"
FRONTEND = "http://127.0.0.1:3000"
MARKETING = "http://127.0.0.1:3002"
# The stand-in's hosted checkout, as the browser on this host opens it.
STRIPE_PUBLIC = "http://localhost:12111"

# The compose file's local-only default; the suite signs webhooks with the same value.
STRIPE_WEBHOOK_SECRET = os.environ.get(
    "STRIPE_WEBHOOK_SECRET", "whsec_local_only_do_not_deploy_0123456789abcdef"
)


def run(cmd, check=True, timeout=300, **kw):
    """Run a command, returning CompletedProcess with text output; print it on failure."""
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kw)
    if check and p.returncode != 0:
        raise AssertionError(
            f"{shlex.join(cmd)} exited {p.returncode}\nstdout:\n{p.stdout[-3000:]}\nstderr:\n{p.stderr[-3000:]}"
        )
    return p


def compose(*args, **kw):
    return run([*COMPOSE, "-p", PROJECT, *COMPOSE_FILES, *args], **kw)


def container_id(service):
    out = compose("ps", "-q", service).stdout.split()
    assert out, f"no container for service {service}"
    return out[0]


def inspect(obj, fmt):
    return run([DOCKER, "inspect", "-f", fmt, obj]).stdout.strip()


def wait_http(url, timeout=60):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            r = requests.get(url, timeout=3)
            if r.status_code == 200:
                return
            last = r.status_code
        except requests.RequestException as e:  # not listening yet
            last = e
        time.sleep(0.5)
    raise AssertionError(f"{url} not ready after {timeout}s: {last}")


def wait_stack():
    """Every container healthy (jobs exited 0) and every service answering /healthz."""
    run(["scripts/compose-wait.sh", "180", *COMPOSE, "-p", PROJECT, *COMPOSE_FILES],
        env={**os.environ, "DOCKER": DOCKER}, timeout=240)
    for base in (BACKEND, FRONTEND, MARKETING):
        wait_http(base + "/healthz")


@pytest.fixture(scope="session")
def stack():
    """The prod stack, up and healthy; `down -v` afterwards (also after failures). A test that
    stops services starts them again, so tests need no particular order."""
    if os.environ.get("E2E_EXTERNAL_STACK") == "1":
        # A stack the developer started (e.g. the binaries on other ports): use it as it is.
        yield
        return
    compose("down", "-v", "--remove-orphans", check=False)
    try:
        compose("up", "-d", timeout=600)
        wait_stack()
        yield
    finally:
        if os.environ.get("E2E_KEEP_STACK") != "1":
            logs = compose("logs", "--no-color", "--tail", "40", check=False).stdout
            (ROOT / ".build").mkdir(exist_ok=True)
            (ROOT / ".build" / "e2e-compose.log").write_text(logs)
            compose("down", "-v", "--remove-orphans", check=False)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the test item, so a fixture can tell a failed test from a
    passed one (the browser tests keep their screenshots only on failure)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def sql(statement):
    """Runs one SQL statement in the stack's database as its owner (psql in the database
    container, or E2E_DATABASE_URL with an external stack); returns psql's unaligned output."""
    if os.environ.get("E2E_DATABASE_URL"):
        return run(["psql", os.environ["E2E_DATABASE_URL"], "-v", "ON_ERROR_STOP=1", "-qtAc", statement]).stdout.strip()
    return compose("exec", "-T", "database", "psql", "-v", "ON_ERROR_STOP=1", "-U", "ledger", "-d", "ledger",
                   "-qtAc", statement).stdout.strip()
