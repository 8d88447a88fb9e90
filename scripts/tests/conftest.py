"""Stand-ins for the deploy and preview script tests: a recording kubectl and a local Stripe.

`fake_kubectl` is a small script put first on PATH (and passed as KUBECTL): it appends its argv
to a log, answers from a list of canned rules (regular expression over the joined argv -> exit
code and output, optionally only a number of times), and hands `kubectl kustomize` to the real
kubectl so the rendering is real. `stripe` is an HTTP server on 127.0.0.1 that behaves as
Stripe's webhook endpoint API does for the calls `tools` makes (create, delete; 404 for an id it
does not know). The `tools` binary is the real one (TOOLS, built by `make test-deploy`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ROOT / "k8s" / "base" / "secrets"

FAKE_KUBECTL = r'''#!/usr/bin/env python3
import json, os, re, subprocess, sys
argv = sys.argv[1:]
with open(os.environ["FAKE_KUBECTL_LOG"], "a") as log:
    log.write(json.dumps(argv) + "\n")
if argv[:1] == ["kustomize"]:
    sys.exit(subprocess.run([os.environ["REAL_KUBECTL"], *argv]).returncode)
path = os.environ["FAKE_KUBECTL_RULES"]
with open(path) as f:
    rules = json.load(f)
line = " ".join(argv)
for rule in rules:
    if re.search(rule["match"], line) and rule.get("times", 1) != 0:
        if "times" in rule:
            rule["times"] -= 1
            with open(path, "w") as f:
                json.dump(rules, f)
        sys.stdout.write(rule.get("out", ""))
        sys.stderr.write(rule.get("err", ""))
        sys.exit(rule.get("rc", 0))
sys.exit(0)
'''


class Kubectl:
    """The recording stand-in: `rules` before a run, `calls` after."""

    def __init__(self, tmp: Path):
        self.bin = tmp / "bin"
        self.bin.mkdir()
        self.path = self.bin / "kubectl"
        self.path.write_text(FAKE_KUBECTL)
        self.path.chmod(0o755)
        self.log = tmp / "kubectl.log"
        self.rules_file = tmp / "kubectl-rules.json"
        self.rules([])

    def rules(self, rules: list[dict]):
        self.rules_file.write_text(json.dumps(rules))

    @property
    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def env(self) -> dict[str, str]:
        real = shutil.which("kubectl")
        assert real, "kubectl (for `kubectl kustomize`) is not installed"
        return {
            "KUBECTL": str(self.path),
            "REAL_KUBECTL": real,
            "FAKE_KUBECTL_LOG": str(self.log),
            "FAKE_KUBECTL_RULES": str(self.rules_file),
            "PATH": f"{self.bin}:{os.environ['PATH']}",
        }


class Stripe(ThreadingHTTPServer):
    """Stripe's /v1/webhook_endpoints, in memory."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), StripeHandler)
        self.endpoints: dict[str, dict] = {}
        self.requests: list[tuple[str, str, str]] = []  # (method, path, key)
        self.lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class StripeHandler(BaseHTTPRequestHandler):
    server: Stripe

    def log_message(self, *args):
        pass

    def answer(self, status: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorised(self) -> str | None:
        key = self.headers.get("authorization", "").removeprefix("Bearer ")
        self.server.requests.append((self.command, self.path, key))
        if not key.startswith("sk_"):
            self.answer(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}})
            return None
        return key

    def do_POST(self):
        if self.authorised() is None:
            return
        if self.path != "/v1/webhook_endpoints":
            return self.answer(404, {"error": {"message": "Unrecognized request URL"}})
        form = parse_qs(self.rfile.read(int(self.headers.get("content-length", 0))).decode())
        with self.server.lock:
            n = len(self.server.endpoints) + 1
            endpoint = {"id": f"we_test{n:04d}", "object": "webhook_endpoint", "url": form["url"][0],
                        "enabled_events": form.get("enabled_events[]", []), "secret": f"whsec_fake{n:04d}"}
            self.server.endpoints[endpoint["id"]] = endpoint
        self.answer(200, endpoint)

    def do_DELETE(self):
        if self.authorised() is None:
            return
        m = re.fullmatch(r"/v1/webhook_endpoints/([A-Za-z0-9_]+)", self.path)
        with self.server.lock:
            if not m or m.group(1) not in self.server.endpoints:
                return self.answer(404, {"error": {"type": "invalid_request_error",
                                                   "message": "No such webhook endpoint"}})
            del self.server.endpoints[m.group(1)]
        self.answer(200, {"id": m.group(1), "object": "webhook_endpoint", "deleted": True})


@pytest.fixture
def stripe():
    server = Stripe()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def kubectl(tmp_path) -> Kubectl:
    return Kubectl(tmp_path)


def tools() -> str:
    path = os.environ.get("TOOLS") or str(ROOT / "target" / "debug" / "tools")
    assert Path(path).is_file(), f"{path} missing: run `make test-deploy` (it builds tools)"
    return path


def secret_placeholders() -> set[str]:
    """Every `__NAME__` in the committed secret files but the webhook secret's."""
    names = set()
    for f in SECRETS.glob("*.env"):
        if f.name != "stripe-webhook-secret.env":
            names |= set(re.findall(r"__([A-Z][A-Z0-9_]*)__", f.read_text()))
    return names


@pytest.fixture
def deploy_env(tmp_path, kubectl, stripe) -> dict[str, str]:
    """What the pipeline would set: the stand-ins, a store, one value per secret placeholder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "DRY_RUN", "INSTANCE", "ROLLBACK"))}
    env.update(kubectl.env())
    env.update({
        "TOOLS": tools(),
        "STRIPE_STORE": str(tmp_path / "store.json"),
        "STRIPE_API_BASE": stripe.base,
        "STRIPE_API_KEY_TEST": "sk_test_fake",
        "STRIPE_API_KEY_PROD": "sk_live_fake",
        "STRIPE_WEBHOOK_URL_BASE": "backend.example.com/billing/webhook",
        "DEPLOY_DIR": str(tmp_path / "stage"),
        "POLL_SECONDS": "0",
        "MIGRATE_TIMEOUT": "30",
    })
    for name in secret_placeholders():
        env[name] = f"value0of0{name.lower()}"
    return env


def run(script: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "scripts" / script), *args], env=env, capture_output=True,
                          text=True, timeout=300, cwd=ROOT)


sys.path.insert(0, str(Path(__file__).parent))
