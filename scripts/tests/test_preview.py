"""`scripts/preview.sh` (make preview / make preview-down): the namespace a branch gets, the
environment rendered for it from the template overlay, and its removal (namespace and Stripe
webhook endpoint), against the recording kubectl, the real `tools` and the local Stripe."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, run

DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def name(kind: str, branch: str) -> str:
    r = subprocess.run([str(ROOT / "scripts" / "preview.sh"), kind, branch], capture_output=True,
                       text=True, check=True)
    return r.stdout.strip()


@pytest.mark.parametrize("branch, namespace", [
    ("feature/Login-Page", "preview-feature-login-page"),
    ("Fix_Bug--42", "preview-fix-bug-42"),
    ("-leading/and/trailing-", "preview-leading-and-trailing"),
    ("production", "preview-production"),      # never the production namespace itself
    ("kube-system", "preview-kube-system"),
    ("release/1.4", "preview-release-1-4"),
])
def test_a_branch_gets_a_dns_safe_namespace(branch, namespace):
    assert name("namespace", branch) == namespace


def test_long_branches_are_cut_to_63_with_a_hash_that_keeps_them_apart():
    a = "feature/" + "x" * 80 + "/one"
    b = "feature/" + "x" * 80 + "/two"
    na, nb = name("namespace", a), name("namespace", b)
    assert len(na) == len(nb) == 63 and na != nb
    assert DNS_LABEL.match(na) and DNS_LABEL.match(nb)
    assert na.startswith("preview-feature-xxx") and re.search(r"-[0-9a-f]{8}$", na)
    assert name("namespace", a) == na, "the same branch always gets the same namespace"
    assert len(name("tag", a)) == 55 and name("tag", a) != name("tag", b)


def test_a_branch_with_no_usable_character_still_gets_a_name():
    ns = name("namespace", "///")
    assert DNS_LABEL.match(ns) and re.fullmatch(r"preview-[0-9a-f]{8}", ns)


def applied(kubectl) -> list[dict]:
    apply = next(c for c in kubectl.calls if c[0] == "apply")
    return [d for d in yaml.safe_load_all(Path(apply[apply.index("-f") + 1]).read_text()) if d]


def test_preview_up_renders_the_template_for_the_branch_and_down_removes_it(kubectl, stripe, deploy_env, tmp_path):
    ns = "preview-feature-login"
    kubectl.rules([{"match": rf"^-n {ns} get job migrate-feature-login ", "out": "Complete "}])
    r = run("preview.sh", ["up", "feature/Login"], deploy_env)
    assert r.returncode == 0, r.stderr
    docs = applied(kubectl)
    text = json.dumps(docs)
    assert "preview-example" not in text, "every trace of the template's name is replaced"
    namespace = next(d for d in docs if d["kind"] == "Namespace")
    assert namespace["metadata"]["name"] == ns
    assert all(d["metadata"].get("namespace") == ns for d in docs if d["kind"] != "Namespace")
    # The descheduler covers it: its policy's namespace selector matches the new namespace.
    policy = yaml.safe_load((ROOT / "k8s" / "descheduler" / "policy.yaml").read_text())
    evictor = next(p for prof in policy["profiles"] for p in prof["pluginConfig"] if p["name"] == "DefaultEvictor")
    for key, value in evictor["args"]["namespaceLabelSelector"]["matchLabels"].items():
        assert namespace["metadata"]["labels"].get(key) == value
    # Hosts <ns>.app / <ns>.backend, in the Gateway, the certificate and the settings.
    gateway = next(d for d in docs if d["kind"] == "Gateway")
    hosts = {l.get("hostname") for l in gateway["spec"]["listeners"]} - {None}
    assert hosts == {f"{ns}.app.example.com", f"{ns}.www.example.com", f"{ns}.backend.example.com"}
    cert = next(d for d in docs if d["kind"] == "Certificate")
    assert set(cert["spec"]["dnsNames"]) == hosts
    assert f"https://{ns}.backend.example.com" in text and f"https://{ns}.app.example.com" in text
    # One replica of each, the branch's images, its own migration Job.
    for d in docs:
        if d["kind"] == "Deployment":
            assert d["spec"]["replicas"] == 1
            assert d["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":feature-login")
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "Job"] == ["migrate-feature-login"]
    # Its own test-mode webhook endpoint, recorded in the store.
    assert [(m, p, k) for m, p, k in stripe.requests] == [("POST", "/v1/webhook_endpoints", "sk_test_fake")]
    assert [e["url"] for e in stripe.endpoints.values()] == [f"https://{ns}.backend.example.com/billing/webhook"]
    store = json.loads(Path(deploy_env["STRIPE_STORE"]).read_text())
    assert store[ns]["endpoint_id"] == "we_test0001"

    r = run("preview.sh", ["down", "feature/Login"], deploy_env)
    assert r.returncode == 0, r.stderr
    assert kubectl.calls[-1][:3] == ["delete", "namespace", ns]
    assert stripe.requests[-1][:2] == ("DELETE", "/v1/webhook_endpoints/we_test0001")
    assert stripe.endpoints == {}
    assert ns not in json.loads(Path(deploy_env["STRIPE_STORE"]).read_text())
    # Again: nothing left to delete, still a success.
    r = run("preview.sh", ["down", "feature/Login"], deploy_env)
    assert r.returncode == 0 and "nothing to delete" in r.stderr, r.stderr


def test_preview_down_keeps_the_store_entry_when_the_namespace_cannot_be_deleted(kubectl, stripe, deploy_env):
    ns = "preview-feature-login"
    kubectl.rules([{"match": rf"^-n {ns} get job ", "out": "Complete "}])
    assert run("preview.sh", ["up", "feature/Login"], deploy_env).returncode == 0
    kubectl.rules([{"match": rf"^delete namespace {ns}", "rc": 1, "err": "error: forbidden\n"}])
    r = run("preview.sh", ["down", "feature/Login"], deploy_env)
    assert r.returncode != 0
    assert len(stripe.endpoints) == 1, "the endpoint stays while the environment may still run"
    assert ns in json.loads(Path(deploy_env["STRIPE_STORE"]).read_text())
