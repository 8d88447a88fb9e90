"""Proof for `make start-prod` on a machine without the base images: a base image
missing from the local store is built on the way, and the stack comes up healthy.

The runtime base is the one made missing: its upstream name points at a registry that cannot
answer (so the pull attempt fails at once) and its stand-in gets a scratch name that is not in the
store. The image tag and the compose project are scratch too. Everything else is reused (the
Debian base, the builder image, PostgreSQL, BuildKit's cache of the check and build stages), so the run
costs one small stand-in build, the final image layers and a stack start. Needs the host ports of
the prod stack: run it under the stack lock, like the e2e suite."""

import os
import re
import subprocess
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKER = os.environ.get("DOCKER", "docker")
COMPOSE = os.environ.get("COMPOSE", "docker-compose").split()
SCRATCH = f"bases-proof-{os.getpid()}"
SCRATCH_RUNTIME = f"local/distroless-cc:{SCRATCH}"
# Nothing listens on the discard port, so the daemon's pull is refused immediately.
UNPULLABLE_RUNTIME = f"127.0.0.1:9/ledger/{SCRATCH}:absent"
IMAGES = ["backend", "marketing", "frontend", "tools"]


def run(cmd, timeout=600, **kw):
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, **kw)


def have(image):
    return run([DOCKER, "image", "inspect", image]).returncode == 0


@pytest.fixture
def scratch():
    assert not have(SCRATCH_RUNTIME), f"{SCRATCH_RUNTIME} is already in the store"
    compose = [*COMPOSE, "-p", f"ledger-{SCRATCH}", "-f", "compose/docker-compose.production.yml"]
    try:
        yield compose
    finally:
        run([*compose, "down", "-v", "--remove-orphans"], env={**os.environ, "TAG": SCRATCH})
        run([DOCKER, "rmi", *[f"{i}:{SCRATCH}" for i in IMAGES], SCRATCH_RUNTIME])


def test_start_prod_builds_a_missing_base_and_reaches_all_services_up(scratch):
    env = {**os.environ, "UPSTREAM_RUNTIME_IMAGE": UNPULLABLE_RUNTIME,
           "OFFLINE_RUNTIME_IMAGE": SCRATCH_RUNTIME}
    env.pop("RUNTIME_IMAGE", None)
    env.pop("BASES", None)
    p = run(["make", "--no-print-directory", "start-prod", f"TAG={SCRATCH}", f"PROJECT=ledger-{SCRATCH}",
             f"DOCKER={DOCKER}"], env=env, timeout=1800)
    out = p.stdout + p.stderr
    (ROOT / ".build").mkdir(exist_ok=True)
    (ROOT / ".build" / "test-bases.log").write_text(out)
    assert p.returncode == 0, f"make start-prod exited {p.returncode}:\n{out[-4000:]}"
    assert "all services up" in p.stdout

    # One line gave the path and the reason; only the missing stand-in was built.
    decision = [line for line in out.splitlines() if "bases: " in line and "runtime " in line]
    assert decision, out[-4000:]
    assert re.search(rf"runtime {re.escape(SCRATCH_RUNTIME)} \(offline stand-in, to build; "
                     rf"{re.escape(UNPULLABLE_RUNTIME)} not in the store, pull failed", decision[0]), decision
    built = re.findall(r"==> \[[0-9:]+\] building (\S+) \(", out)
    assert built == [SCRATCH_RUNTIME], f"expected only the runtime stand-in to be built, got {built}"

    # The images really are on the rebuilt base, and the stack answers.
    for image in IMAGES:
        base = run([DOCKER, "image", "inspect", "-f",
                    '{{index .Config.Labels "org.opencontainers.image.base.name"}}', f"{image}:{SCRATCH}"])
        assert base.stdout.strip() == SCRATCH_RUNTIME, (image, base.stdout, base.stderr)
    for port in (5000, 3000, 3002):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            assert r.status == 200
