"""End-to-end checks of the shipped images and the prod compose stack (run by `make e2e`).

Each test stands alone, in any order: every API test signs up users of its own (so `make
db-reset`, which wipes them, harms no other test), and the graceful-stop test starts the services
again before it ends."""

import hashlib
import hmac
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import (BACKEND, DOCKER, FRONTEND, IMAGES, MARKETING, PROJECT, ROOT, SERVICES,
                      STRIPE_WEBHOOK_SECRET, TAG, compose, container_id, inspect, run,
                      wait_stack)

SIZE_LIMIT_MB = 30


# ---- images -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", IMAGES)
def test_image_has_no_shell(name):
    for shell in ("/bin/sh", "/bin/bash", "/busybox/sh"):
        p = run([DOCKER, "run", "--rm", "--entrypoint", shell, f"{name}:{TAG}", "-c", "true"],
                check=False, timeout=60)
        assert p.returncode != 0, f"{name}:{TAG} ran {shell}"


@pytest.mark.parametrize("name", IMAGES)
def test_image_runs_as_nonroot_numeric_user(name):
    assert inspect(f"{name}:{TAG}", "{{.Config.User}}") == "65532:65532"


@pytest.mark.parametrize("name", IMAGES)
def test_image_size_within_limit(name):
    size = int(inspect(f"{name}:{TAG}", "{{.Size}}"))
    mb = size / 1_000_000
    print(f"{name}:{TAG} {mb:.1f} MB")
    assert mb <= SIZE_LIMIT_MB, f"{name}:{TAG} is {mb:.1f} MB"


@pytest.mark.parametrize("name", ["backend", "marketing", "frontend"])
def test_image_entrypoint_and_healthcheck_are_exec_form(name):
    entry = json.loads(inspect(f"{name}:{TAG}", "{{json .Config.Entrypoint}}"))
    health = json.loads(inspect(f"{name}:{TAG}", "{{json .Config.Healthcheck.Test}}"))
    assert len(entry) == 1 and entry[0].startswith("/usr/local/bin/")
    assert health == ["CMD", entry[0], "healthcheck"]


def os_release(image):
    """/etc/os-release of an image that has no shell: copied out of a created, never started,
    container (docker cp follows the symlink distroless and Debian use)."""
    cid = run([DOCKER, "create", image]).stdout.strip()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run([DOCKER, "cp", "-L", f"{cid}:/etc/os-release", f"{tmp}/os-release"])
            text = Path(tmp, "os-release").read_text()
    finally:
        run([DOCKER, "rm", cid], check=False)
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@pytest.mark.parametrize("name", IMAGES)
def test_image_runs_on_debian_13(name):
    """Debian 12 distroless reached end of life in September 2026: every image is on Debian 13,
    whether built on the upstream cc-debian13 or on the offline stand-in."""
    release = os_release(f"{name}:{TAG}")
    assert release.get("ID") == "debian", release
    assert release.get("VERSION_ID", "").strip('"') == "13", release
    base = inspect(f"{name}:{TAG}", '{{index .Config.Labels "org.opencontainers.image.base.name"}}')
    assert base, f"{name}:{TAG} has no org.opencontainers.image.base.name label"


@pytest.mark.parametrize("name", IMAGES)
def test_image_reports_the_revision_it_was_built_from(name):
    """service_build_info{revision} comes from SERVICE_REVISION, which the image sets from the
    same build argument as its org.opencontainers.image.revision label (the binaries do not
    embed it: that would relink every binary on every commit)."""
    label = inspect(f"{name}:{TAG}", '{{index .Config.Labels "org.opencontainers.image.revision"}}')
    assert label and label != "unknown", f"{name}:{TAG}: revision label {label!r}"
    env = json.loads(inspect(f"{name}:{TAG}", "{{json .Config.Env}}"))
    assert f"SERVICE_REVISION={label}" in env, env


def test_site_image_serves_with_read_only_root_and_no_capabilities():
    """A site image started by hand, hardened, answers its own exec-form healthcheck."""
    name = f"e2e-readonly-{uuid.uuid4().hex[:8]}"
    run([DOCKER, "run", "-d", "--name", name, "--read-only", "--cap-drop", "ALL",
         "--security-opt", "no-new-privileges:true", f"marketing:{TAG}"])
    try:
        deadline = time.monotonic() + 30
        while True:
            p = run([DOCKER, "exec", name, "/usr/local/bin/marketing-server", "healthcheck"],
                    check=False, timeout=30)
            if p.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert p.returncode == 0, p.stderr
    finally:
        run([DOCKER, "rm", "-f", name], check=False)


def test_tools_image_runs_with_read_only_root_and_no_capabilities():
    p = run([DOCKER, "run", "--rm", "--read-only", "--cap-drop", "ALL",
             "--security-opt", "no-new-privileges:true", f"tools:{TAG}", "--help"], check=False)
    assert p.returncode == 0, p.stderr
    for sub in ("db-migrate", "db-reset", "inject-stripe-secret", "wait-for"):
        assert sub in p.stdout


# ---- the running stack ----------------------------------------------------------------------

@pytest.mark.parametrize("service", SERVICES)
def test_service_is_healthy_and_hardened(stack, service):
    cid = container_id(service)
    assert inspect(cid, "{{.State.Health.Status}}") == "healthy"
    assert inspect(cid, "{{.HostConfig.ReadonlyRootfs}}") == "true"
    assert json.loads(inspect(cid, "{{json .HostConfig.CapDrop}}")) == ["ALL"]
    assert inspect(cid, "{{.Config.User}}") == "65532:65532"


def test_database_is_healthy_and_migration_job_succeeded(stack):
    assert inspect(container_id("database"), "{{.State.Health.Status}}") == "healthy"
    migrate = container_id("migrate")
    assert inspect(migrate, "{{.State.Status}}") == "exited"
    assert inspect(migrate, "{{.State.ExitCode}}") == "0"


def test_database_is_postgresql_17_in_the_versioned_data_directory(stack):
    """Compose, e2e and Kubernetes run the same major; data lives where the official 18+ images
    put it (/var/lib/postgresql/<major>/docker), so the next major can sit beside it."""
    psql = ["exec", "-T", "database", "psql", "-U", "ledger", "-d", "ledger",
            "-tAc"]
    version = compose(*psql, "SHOW server_version_num").stdout.strip()
    assert version.startswith("17") and len(version) == 6, version
    data_dir = compose(*psql, "SHOW data_directory").stdout.strip()
    assert data_dir == "/var/lib/postgresql/17/docker", data_dir
    mounts = json.loads(inspect(container_id("database"), "{{json .Mounts}}"))
    assert any(m["Type"] == "volume" and m["Destination"] == "/var/lib/postgresql" for m in mounts), mounts


def signup(email=None, password="correct horse battery staple"):
    email = email or f"e2e-{uuid.uuid4().hex[:10]}@example.com"
    r = requests.post(f"{BACKEND}/auth/signup", json={"email": email, "password": password}, timeout=10)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["token"] and body["user"]["email"] == email
    return email, password, body


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_signup_login_accounts_transactions(stack):
    email, password, created = signup()
    r = requests.post(f"{BACKEND}/auth/login", json={"email": email, "password": password}, timeout=10)
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    h = auth(token)

    r = requests.get(f"{BACKEND}/users/me", headers=h, timeout=10)
    assert r.status_code == 200 and r.json()["email"] == email

    r = requests.post(f"{BACKEND}/auth/login", json={"email": email, "password": "wrong password!"}, timeout=10)
    assert r.status_code == 401
    assert "error" in r.json()

    cash = requests.post(f"{BACKEND}/accounts", headers=h, json={"name": "Cash", "type": "asset"}, timeout=10)
    food = requests.post(f"{BACKEND}/accounts", headers=h, json={"name": "Food", "type": "expense"}, timeout=10)
    assert cash.status_code == 201, cash.text
    assert food.status_code == 201, food.text
    cash, food = cash.json(), food.json()

    r = requests.post(f"{BACKEND}/transactions", headers=h, timeout=10, json={
        "date": "2026-11-24", "amount_cents": 1250, "description": "lunch",
        "debit_account_id": food["id"], "credit_account_id": cash["id"]})
    assert r.status_code == 201, r.text
    tx = r.json()

    r = requests.get(f"{BACKEND}/transactions", headers=h, params={"account_id": cash["id"]}, timeout=10)
    assert r.status_code == 200, r.text
    assert [t["id"] for t in r.json()["items"]] == [tx["id"]]

    r = requests.get(f"{BACKEND}/accounts", headers=h, timeout=10)
    assert r.status_code == 200
    assert {a["name"] for a in r.json()} == {"Cash", "Food"}

    r = requests.post(f"{BACKEND}/transactions", headers=h, timeout=10, json={
        "date": "2026-11-24", "amount_cents": 0, "description": "zero",
        "debit_account_id": food["id"], "credit_account_id": cash["id"]})
    assert 400 <= r.status_code < 500

    # Another user cannot see the first user's rows.
    _, _, other = signup()
    r = requests.get(f"{BACKEND}/transactions/{tx['id']}", headers=auth(other["token"]), timeout=10)
    assert r.status_code == 404

    r = requests.get(f"{BACKEND}/accounts", timeout=10)
    assert r.status_code == 401


def test_marketing_pages_served(stack):
    r = requests.get(f"{MARKETING}/", timeout=10)
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    assert "<html" in r.text.lower()
    r = requests.get(f"{MARKETING}/no-such-page-{uuid.uuid4().hex}", timeout=10)
    assert r.status_code == 404


def test_frontend_served_with_spa_fallback(stack):
    index = requests.get(f"{FRONTEND}/", timeout=10)
    assert index.status_code == 200
    assert "text/html" in index.headers["content-type"]
    deep = requests.get(f"{FRONTEND}/accounts/some-client-route", headers={"Accept": "text/html"}, timeout=10)
    assert deep.status_code == 200
    assert deep.text == index.text


def test_both_sites_serve_the_shared_modules_as_committed(stack):
    # The images copy sites/shared/ over each site (docker/Dockerfile, sites/layout.py).
    shared = ROOT / "sites" / "shared"
    files = [p for p in sorted(shared.rglob("*")) if p.is_file()]
    assert files
    for path in files:
        for base in (MARKETING, FRONTEND):
            url = f"{base}/{path.relative_to(shared).as_posix()}"
            r = requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=10)
            assert r.status_code == 200, url
            assert r.content == path.read_bytes(), url


def stripe_signature(payload: bytes, secret: str, t: int) -> str:
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def test_stripe_webhook_signed_accepted_and_forged_refused(stack):
    _, _, user = signup()
    user_id = user["user"]["id"]
    event = {
        "id": f"evt_e2e_{uuid.uuid4().hex}",
        "type": "checkout.session.completed",
        "data": {"object": {"client_reference_id": user_id, "payment_status": "paid", "customer": f"cus_{uuid.uuid4().hex[:12]}",
                            "subscription": f"sub_{uuid.uuid4().hex[:12]}"}},
    }
    payload = json.dumps(event).encode()
    t = int(time.time())

    forged = requests.post(f"{BACKEND}/billing/webhook", data=payload, timeout=10, headers={
        "Content-Type": "application/json",
        "Stripe-Signature": stripe_signature(payload, "whsec_not_the_real_secret", t)})
    assert forged.status_code == 400, forged.text
    r = requests.get(f"{BACKEND}/billing/subscription", headers=auth(user["token"]), timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "none"

    signed = requests.post(f"{BACKEND}/billing/webhook", data=payload, timeout=10, headers={
        "Content-Type": "application/json",
        "Stripe-Signature": stripe_signature(payload, STRIPE_WEBHOOK_SECRET, t)})
    assert signed.status_code == 200, signed.text
    r = requests.get(f"{BACKEND}/billing/subscription", headers=auth(user["token"]), timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "active", r.text

    replay = requests.post(f"{BACKEND}/billing/webhook", data=payload, timeout=10, headers={
        "Content-Type": "application/json",
        "Stripe-Signature": stripe_signature(payload, STRIPE_WEBHOOK_SECRET, t)})
    assert replay.status_code == 200


def test_db_reset_returns_seeded_state(stack):
    email, password, _ = signup()
    p = run(["make", "--no-print-directory", "db-reset", f"PROJECT={PROJECT}", f"TAG={TAG}"],
            check=False, timeout=180)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]

    # The backend's pooled connections were terminated by the reset; it must recover by itself.
    deadline = time.monotonic() + 30
    while True:
        r = requests.post(f"{BACKEND}/auth/login", timeout=10,
                          json={"email": "demo@example.com", "password": "demo-password"})
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert r.status_code == 200, r.text
    demo = auth(r.json()["token"])
    assert len(requests.get(f"{BACKEND}/accounts", headers=demo, timeout=10).json()) > 0

    r = requests.post(f"{BACKEND}/auth/login", json={"email": email, "password": password}, timeout=10)
    assert r.status_code == 401, r.text


def test_db_backup_and_db_restore_through_make(stack, tmp_path):
    """`make db-backup` writes an age-encrypted backup of the stack's database with its manifest
    (the backup image: tools + pg_dump 17 against the PostgreSQL 17 server); a user signed up
    afterwards is gone after `make db-restore`, which puts that backup back and says what it
    restored."""
    env = {**os.environ, "BACKUP_DIR": str(tmp_path)}
    make = ["make", "--no-print-directory", f"PROJECT={PROJECT}", f"TAG={TAG}"]
    p = run([*make, "db-backup"], env=env, check=False, timeout=300)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    store = tmp_path / "store"
    objects = sorted(store.glob("ledger-*.dump.age"))
    assert len(objects) == 1, list(store.iterdir())
    assert objects[0].read_bytes().startswith(b"age-encryption.org/v1\n")
    manifest = json.loads((store / f"{objects[0].name}.manifest.json").read_text())
    assert manifest["size"] == objects[0].stat().st_size
    assert manifest["sha256"] == hashlib.sha256(objects[0].read_bytes()).hexdigest()
    assert manifest["server_version"].startswith("17"), manifest
    assert "AGE-SECRET-KEY" not in p.stdout + p.stderr

    email, password, _ = signup()
    p = run([*make, "db-restore"], env=env, check=False, timeout=300)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-3000:]
    assert "public.users" in out and "row(s)" in out, out[-3000:]
    r = requests.post(f"{BACKEND}/auth/login", json={"email": email, "password": password}, timeout=10)
    assert r.status_code == 401, "the user signed up after the backup is gone"


def test_docker_stop_exits_zero_within_drain_and_timeout(stack):
    """SIGTERM -> drain (503 on /healthz) -> exit 0. docker stop's -t is the drain (5 s) plus the
    in-flight timeout (20 s): a service still running then is SIGKILLed and exits 137."""
    ids = [container_id(s) for s in SERVICES]
    try:
        run([DOCKER, "stop", "-t", "25", *ids], timeout=120)
        for service, cid in zip(SERVICES, ids):
            assert inspect(cid, "{{.State.ExitCode}}") == "0", f"{service} did not exit cleanly"
            assert inspect(cid, "{{.State.OOMKilled}}") == "false"
    finally:
        # Back up for whatever test runs next.
        compose("start", *SERVICES)
        wait_stack()


def test_print_image_sizes():
    p = run(["make", "--no-print-directory", "image-sizes", f"TAG={TAG}"])
    print("\n" + p.stdout)
