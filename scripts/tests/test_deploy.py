"""`scripts/deploy.sh` (make deploy): the order of the steps and the failure paths, against the
recording kubectl stand-in, with the real rendering, the real `tools inject-stripe-secret` and the
local Stripe stand-in (conftest.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from conftest import ROOT, SECRETS, run

NS = "production"
JOB = "migrate-v2.0.0"
GET_JOB = rf"^-n {NS} get job {JOB} "


def cluster(kubectl, *, before="", after="Complete ", rollout_rc=None, logs=""):
    """Canned cluster: the Job's state before the apply, then after it; rollout results."""
    rules = [
        {"match": GET_JOB, "out": before, "times": 1},
        {"match": GET_JOB, "out": after},
        {"match": rf"^-n {NS} logs job/{JOB} ", "out": logs},
    ]
    for name, rc in (rollout_rc or {}).items():
        rules.append({"match": rf"^-n {NS} rollout status deployment/{name} ", "rc": rc,
                      "err": f"error: deployment {name} exceeded its progress deadline\n"})
    kubectl.rules(rules)


def verbs(calls):
    """Each call without its flags' values: e.g. 'apply', 'rollout status statefulset/database'."""
    out = []
    for argv in calls:
        args = [a for a in argv if not a.startswith("-")]
        if argv[:1] == ["-n"]:
            args = args[1:]
        if args[:1] == ["kustomize"]:
            out.append("kustomize")
        elif args[:2] == ["rollout", "status"]:
            out.append(" ".join(args[:3]))
        elif args[:1] in (["get"], ["delete"]):
            out.append(" ".join(args[:3]))
        else:
            out.append(args[0])
    return out


def committed_secrets():
    return {f.name: f.read_text() for f in SECRETS.glob("*.env")}


def test_deploy_applies_then_waits_for_database_migration_and_every_rollout(kubectl, stripe, deploy_env, tmp_path):
    cluster(kubectl, before="", after="Complete ")
    before = committed_secrets()
    r = run("deploy.sh", ["production", "v2.0.0"], deploy_env)
    assert r.returncode == 0, r.stderr
    steps = [v for v in verbs(kubectl.calls) if v != "kustomize"]
    assert steps == [
        f"get job {JOB}",                    # a failed Job of this release? (none)
        "apply",
        "rollout status statefulset/database",
        f"get job {JOB}",                    # the migration: complete
        "rollout status deployment/backend",
        "rollout status deployment/frontend",
        "rollout status deployment/marketing",
    ], kubectl.calls
    # What was applied: the rendering of the release, secrets filled, nothing left as placeholder.
    apply = next(c for c in kubectl.calls if c[0] == "apply")
    applied = Path(apply[apply.index("-f") + 1]).read_text()
    assert f"name: {JOB}" in applied
    assert "registry.example.com/ledger/backend:v2.0.0" in applied
    assert not re.search(r"__[A-Z0-9_]+__", applied)
    # The webhook secret came from Stripe (production: the live key, the bare host).
    assert [(m, p) for m, p, _ in stripe.requests] == [("POST", "/v1/webhook_endpoints")]
    assert stripe.requests[0][2] == "sk_live_fake"
    assert [e["url"] for e in stripe.endpoints.values()] == ["https://backend.example.com/billing/webhook"]
    # Kustomize hashes secret data into the name, base64 in the data: check the secret is there.
    import base64
    assert base64.b64encode(b"whsec_fake0001").decode() in applied
    assert "whsec_fake0001" not in r.stdout + r.stderr, "the secret is never printed"
    # The repository's files are untouched; the report names what was deployed.
    assert committed_secrets() == before
    assert "deployed release v2.0.0 of production into namespace production" in r.stderr
    assert "Deployment/backend: registry.example.com/ledger/backend:v2.0.0" in r.stderr
    # A second deploy of the same release reuses the endpoint (the store), creates none.
    cluster(kubectl, before="Complete ", after="Complete ")
    r = run("deploy.sh", ["production", "v2.0.0"], deploy_env)
    assert r.returncode == 0, r.stderr
    assert len(stripe.endpoints) == 1 and len(stripe.requests) == 1


def test_failed_migration_prints_its_log_exits_non_zero_and_touches_nothing_else(kubectl, stripe, deploy_env):
    cluster(kubectl, before="", after="FailureTarget Failed ",
            logs="db-migrate: error: migration 20270101000001 (add invoices) failed; its changes were rolled back\n")
    r = run("deploy.sh", ["production", "v2.0.0"], deploy_env)
    assert r.returncode == 1, r.stderr
    assert "migration 20270101000001 (add invoices) failed" in r.stderr
    assert "the running ones keep serving" in r.stderr
    steps = [v for v in verbs(kubectl.calls) if v != "kustomize"]
    assert steps == [f"get job {JOB}", "apply", "rollout status statefulset/database", f"get job {JOB}", "logs"]
    # No rollout waited for, nothing deleted, undone, scaled or patched.
    assert not any(c[0] in ("delete", "scale", "patch") or "undo" in c for c in kubectl.calls)


def test_a_failed_job_of_the_same_release_is_deleted_before_the_apply_so_it_runs_again(kubectl, deploy_env):
    cluster(kubectl, before="Failed ", after="Complete ")
    r = run("deploy.sh", ["production", "v2.0.0"], deploy_env)
    assert r.returncode == 0, r.stderr
    steps = [v for v in verbs(kubectl.calls) if v != "kustomize"]
    assert steps[:3] == [f"get job {JOB}", f"delete job {JOB}", "apply"]


def test_a_rollout_that_does_not_finish_fails_the_deploy_naming_it(kubectl, deploy_env):
    cluster(kubectl, rollout_rc={"frontend": 1})
    r = run("deploy.sh", ["production", "v2.0.0"], deploy_env)
    assert r.returncode == 1
    assert "deployment/frontend did not roll out" in r.stderr
    assert "rollout status deployment/marketing" not in verbs(kubectl.calls)


def test_dry_run_renders_and_validates_only(kubectl, stripe, deploy_env, tmp_path):
    env = dict(deploy_env, DRY_RUN="1", K8S_VALIDATE=os.environ.get("K8S_VALIDATE", ""))
    for name in list(env):
        if name in ("STRIPE_API_KEY_PROD", "STRIPE_API_KEY_TEST"):
            del env[name]
    r = run("deploy.sh", ["production", "v2.0.0"], env)
    assert r.returncode == 0, r.stderr
    assert set(verbs(kubectl.calls)) == {"kustomize"}
    assert stripe.requests == []
    assert "nothing applied" in r.stderr and f"Job/{JOB}: registry.example.com/ledger/tools:v2.0.0" in r.stderr
    assert (tmp_path / "stage" / "rendered.yaml").is_file()


def test_dry_run_fails_on_a_rendering_that_does_not_validate(kubectl, deploy_env):
    env = dict(deploy_env, DRY_RUN="1", K8S_VALIDATE="false")
    r = run("deploy.sh", ["production", "v2.0.0"], env)
    assert r.returncode == 1 and "does not validate" in r.stderr


def test_a_missing_secret_stops_before_stripe_and_the_cluster(kubectl, stripe, deploy_env):
    env = dict(deploy_env)
    name = sorted(n for n in env if n.isupper() and env[n].startswith("value0of0"))[0]
    del env[name]
    r = run("deploy.sh", ["production", "v2.0.0"], env)
    assert r.returncode != 0
    assert f"__{name}__" in r.stderr
    assert set(verbs(kubectl.calls)) == {"kustomize"} and stripe.requests == []


def test_bad_arguments_are_one_line_errors(kubectl, deploy_env):
    for args, message in ((["production", "V2_0"], "TAG 'V2_0'"), (["nope", "v1"], "no overlay"),
                          (["production"], "usage")):
        r = run("deploy.sh", args, deploy_env)
        assert r.returncode == 2 and message in r.stderr, r.stderr
    assert kubectl.calls == []


def test_rollback_puts_the_older_images_back_without_its_migration_job(kubectl, deploy_env):
    cluster(kubectl)
    r = run("deploy.sh", ["production", "v2.0.0"], dict(deploy_env, ROLLBACK="1"))
    assert r.returncode == 0, r.stderr
    steps = [v for v in verbs(kubectl.calls) if v != "kustomize"]
    assert steps == ["apply", "rollout status statefulset/database", "rollout status deployment/backend",
                     "rollout status deployment/frontend", "rollout status deployment/marketing"]
    apply = next(c for c in kubectl.calls if c[0] == "apply")
    applied = Path(apply[apply.index("-f") + 1]).read_text()
    assert "kind: Job" not in applied and "registry.example.com/ledger/backend:v2.0.0" in applied
