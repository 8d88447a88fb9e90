"""A burst of sign-ups and logins against a backend container with the production pod's memory
limit (256 MiB, no swap). Unbounded, each argon2id hash (19 MiB) ran at once and 60 sign-ups got
the container OOM-killed in under a second; now it must still be running afterwards, never
OOM-killed, with every request answered: 201/200, or 429 / 503 with Retry-After and the JSON
error shape.

The container is started next to the prod stack (same network and database, the stack backend's
own environment) with the per-address limits raised, so the whole burst reaches the hashing.
E2E_BURST_IMAGE overrides the image (e.g. an older build, to see this test fail)."""

import collections
import concurrent.futures
import json
import os
import time
import uuid

import requests

from conftest import DOCKER, TAG, container_id, inspect, run

SIGNUPS = 80
LOGINS = 40
PASSWORD = "correct horse battery staple"
IMAGE = os.environ.get("E2E_BURST_IMAGE", f"backend:{TAG}")


def start_limited_backend(name):
    """`docker run` of the backend image with the pod's memory limit; returns its base URL."""
    stack_backend = container_id("backend")
    env = json.loads(inspect(stack_backend, "{{json .Config.Env}}"))
    network = inspect(stack_backend,
                      "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}").split()[0]
    env += ["SIGNUP_ATTEMPTS_PER_MINUTE=10000", "LOGIN_ATTEMPTS_PER_MINUTE=10000",
            "RUST_LOG=warn"]
    cmd = [DOCKER, "run", "-d", "--name", name, "--network", network,
           "--memory", "256m", "--memory-swap", "256m",
           "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true",
           "-p", "127.0.0.1::5000"]
    for kv in env:
        cmd += ["-e", kv]
    run([*cmd, IMAGE])
    host_port = run([DOCKER, "port", name, "5000/tcp"]).stdout.split()[0]
    base = f"http://{host_port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{base}/healthz", timeout=3).status_code == 200:
                return base
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, f"{name} never became healthy"
        time.sleep(0.5)


def peak_memory(name):
    """The container cgroup's peak memory use, where the host exposes it (for the log only)."""
    cid = inspect(name, "{{.Id}}")
    for path in (f"/sys/fs/cgroup/memory/docker/{cid}/memory.max_usage_in_bytes",
                 f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/memory.peak"):
        try:
            with open(path) as f:
                return f"{int(f.read()) / 2**20:.0f} MiB"
        except (OSError, ValueError):
            continue
    return "not exposed"


def attempt(base, path, email):
    """One request of the burst: ('/auth/signup 201', None) or (None, what was wrong)."""
    try:
        r = requests.post(f"{base}{path}", json={"email": email, "password": PASSWORD},
                          timeout=60)
    except requests.RequestException as e:
        return None, f"{path}: no answer: {e}"
    outcome = f"{path} {r.status_code}"
    try:
        body = r.json()
    except ValueError:
        return None, f"{outcome}: not JSON: {r.text[:200]}"
    if (path, r.status_code) in (("/auth/signup", 201), ("/auth/login", 200)):
        return (outcome, None) if body.get("token") else (None, f"{outcome} without a token")
    # 503: every hashing slot stayed busy, or (on a starved machine) no database connection in time.
    expected = {429: {"rate_limited"}, 503: {"overloaded", "database_unavailable"}}.get(r.status_code)
    error = body.get("error") or {}
    if (expected is None or error.get("code") not in expected
            or not isinstance(error.get("message"), str) or "Retry-After" not in r.headers):
        return None, f"{outcome}: {body} (Retry-After: {r.headers.get('Retry-After')})"
    return f"{outcome} {error['code']}", None


def test_signup_burst_leaves_a_256m_backend_running(stack):
    name = f"e2e-burst-{uuid.uuid4().hex[:8]}"
    try:
        base = start_limited_backend(name)
        user = f"burst-{uuid.uuid4().hex[:8]}@example.com"
        assert attempt(base, "/auth/signup", user) == ("/auth/signup 201", None)

        burst = [("/auth/signup", f"burst-{uuid.uuid4().hex[:10]}@example.com")
                 for _ in range(SIGNUPS)] + [("/auth/login", user)] * LOGINS
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(burst)) as pool:
            answers = list(pool.map(lambda req: attempt(base, *req), burst))

        state = json.loads(inspect(name, "{{json .State}}"))
        tally = collections.Counter(outcome for outcome, _ in answers if outcome)
        failures = [failure for _, failure in answers if failure]
        print(f"burst of {len(burst)} against {IMAGE}: {dict(sorted(tally.items()))}; "
              f"container {state['Status']}, OOMKilled={state['OOMKilled']}, "
              f"exit code {state['ExitCode']}, peak memory {peak_memory(name)}")
        assert state["OOMKilled"] is False, "the backend was OOM-killed"
        assert state["Running"] is True, f"the backend stopped: {state}"
        assert not failures, f"{len(failures)} requests not answered as they should: {failures[:5]}"
        assert tally["/auth/signup 201"] > 0 and tally["/auth/login 200"] > 0, tally
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
    finally:
        logs = run([DOCKER, "logs", "--tail", "20", name], check=False)
        print(logs.stdout[-2000:], logs.stderr[-2000:])
        run([DOCKER, "rm", "-f", name], check=False)
