"""Policy tests on the rendered overlays and the descheduler kustomization.

The first half asserts that what we ship obeys the rules; the second half feeds each checker a
manifest that breaks its rule, so a checker that silently passes everything fails here.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

import policy

APP_OVERLAYS = ["development", "production"]
NAMESPACES = {"development": "branch-example", "production": "production"}
SECRETS_DIR = Path(__file__).resolve().parent.parent / "base" / "secrets"


def kinds(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


# --- what we ship ------------------------------------------------------------------------------

@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_overlay_renders_the_whole_stack(rendered, overlay):
    docs = rendered[overlay]
    names = {(d["kind"], d["metadata"]["name"].rsplit("-", 1)[0] if d["kind"] in ("Secret", "ConfigMap") else d["metadata"]["name"]) for d in docs}
    for expected in [
        ("Deployment", "backend"), ("Deployment", "frontend"), ("Deployment", "marketing"),
        ("StatefulSet", "database"), ("Service", "database"), ("Job", "migrate"),
        ("Ingress", "web"), ("Secret", "stripe-webhook-secret"), ("Namespace", NAMESPACES[overlay]),
    ]:
        assert expected in names, f"{overlay} lacks {expected}"
    assert all(
        d["metadata"].get("namespace") == NAMESPACES[overlay] for d in docs if d["kind"] != "Namespace"
    )


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_backend_behind_ingress_trusts_forwarded_for(rendered, overlay):
    """Only ingress-nginx may reach the backend, so its X-Forwarded-For is the client address
    the login rate limit must key on."""
    configs = [d for d in kinds(rendered[overlay], "ConfigMap") if d["metadata"]["name"].startswith("backend-config")]
    assert len(configs) == 1
    assert configs[0]["data"].get("TRUST_FORWARDED_FOR") == "true"
    policies = kinds(rendered[overlay], "NetworkPolicy")
    to_apps = [p for p in policies if p["metadata"]["name"] == "allow-ingress-controller-to-web"]
    assert to_apps, [p["metadata"]["name"] for p in policies]
    sources = [src for rule in to_apps[0]["spec"]["ingress"] for src in rule["from"]]
    assert sources == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]


def test_services_are_cluster_ip_or_headless(everything):
    assert len(kinds(everything, "Service")) >= 8
    assert policy.check_services_cluster_ip(everything) == []


def test_no_node_port_anywhere(everything):
    assert policy.check_no_node_port(everything) == []


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_database_service_is_headless_and_statefulset_uses_it(rendered, overlay):
    docs = rendered[overlay]
    svc = next(d for d in kinds(docs, "Service") if d["metadata"]["name"] == "database")
    assert svc["spec"]["clusterIP"] == "None"
    sts = kinds(docs, "StatefulSet")[0]
    assert sts["spec"]["serviceName"] == "database"
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    probe = sts["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert probe["exec"]["command"][0] == "pg_isready"


def test_deployments_probe_healthz_and_never_drop_capacity(everything):
    assert len(kinds(everything, "Deployment")) == 6
    assert policy.check_deployments(everything) == []


def test_graceful_shutdown_fits_in_grace_period(everything):
    assert policy.check_graceful_shutdown(everything) == []


def test_production_runs_at_least_two_replicas(rendered):
    assert policy.check_min_replicas(rendered["production"], 2) == []


def test_production_images_are_release_versions(rendered):
    images = [c["image"] for _, pod in policy.pod_specs(rendered["production"]) for c in policy.containers(pod)]
    assert len(images) == 6
    for image in images:
        ref = image.rsplit("/", 1)[-1]
        assert "@sha256:" in ref or re.search(r":v?\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$", ref), image


def test_development_runs_one_replica_and_a_small_volume(rendered):
    docs = rendered["development"]
    assert {d["spec"]["replicas"] for d in kinds(docs, "Deployment")} == {1}
    sts = kinds(docs, "StatefulSet")[0]
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "1Gi"


def test_every_deployment_has_a_pdb(everything):
    assert policy.check_pdbs(everything) == []


def test_migrate_job_uses_args_and_waits_with_tools(everything):
    assert len(kinds(everything, "Job")) == 2
    assert policy.check_migrate_job(everything) == []


def test_every_pod_is_restricted(everything):
    assert len(list(policy.pod_specs(everything))) == 11
    assert policy.check_restricted(everything) == []


def test_only_upstream_fixed_uid_images_run_below_10000(everything):
    assert policy.check_high_uids(everything) == []


def test_service_account_tokens_only_where_needed(everything):
    assert policy.check_service_account_tokens(everything) == []


def test_images_are_pinned(everything):
    assert policy.check_images(everything) == []


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_namespace_is_restricted(rendered, overlay):
    assert policy.check_namespaces_restricted(rendered[overlay], {NAMESPACES[overlay]}) == []


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_network_default_deny(rendered, overlay):
    assert policy.check_default_deny(rendered[overlay]) == []


def test_ingress_is_nginx_with_tls_and_existing_backends(everything):
    assert len(kinds(everything, "Ingress")) == 2
    assert policy.check_ingress(everything) == []


def test_descheduler_policy_spreads_our_namespaces(rendered):
    policy_doc = policy.descheduler_policy(rendered["descheduler"])
    app_docs = rendered["development"] + rendered["production"]
    assert policy.check_descheduler_policy(policy_doc, set(NAMESPACES.values()), app_docs) == []


def test_descheduler_is_a_bounded_cronjob_in_kube_system(rendered):
    cron = kinds(rendered["descheduler"], "CronJob")[0]
    assert cron["metadata"]["namespace"] == "kube-system"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["startingDeadlineSeconds"] > 0
    assert cron["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] > 0
    image = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.startswith("registry.k8s.io/descheduler/descheduler:v0.")


def test_cutover_is_production_with_the_backend_stopped(rendered):
    prod, cutover = rendered["production"], rendered["production-cutover"]
    assert len(prod) == len(cutover)
    for before, after in zip(prod, cutover):
        if before["kind"] == "Deployment" and before["metadata"]["name"] == "backend":
            assert after["spec"]["replicas"] == 0
            after = copy.deepcopy(after)
            after["spec"]["replicas"] = before["spec"]["replicas"]
        assert before == after
    assert policy.check_restricted(cutover) == []


def test_committed_secret_files_hold_only_placeholders():
    files = sorted(SECRETS_DIR.glob("*.env"))
    assert files
    for path in files:
        for line in path.read_text().splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            key, value = line.split("=", 1)
            if key in ("POSTGRES_USER", "POSTGRES_DB"):
                continue
            assert "__" in value, f"{path.name}: {key} looks like a real secret"
    assert "STRIPE_WEBHOOK_SECRET=__WEBHOOK_SECRET_VALUE__" in (SECRETS_DIR / "stripe-webhook-secret.env").read_text()


# --- the checkers catch what they are meant to catch -------------------------------------------

def deployment(rendered):
    return copy.deepcopy(kinds(rendered["production"], "Deployment")[0])


def test_flags_stale_node_port_under_cluster_ip():
    svc = {"kind": "Service", "metadata": {"name": "web"},
           "spec": {"type": "ClusterIP", "ports": [{"port": 80, "nodePort": 30080}]}}
    assert policy.check_services_cluster_ip([svc]) == []
    assert policy.check_no_node_port([svc]) == ["Service/web: spec.ports[0].nodePort"]


def test_flags_node_port_and_load_balancer_services():
    docs = [{"kind": "Service", "metadata": {"name": t}, "spec": {"type": t}} for t in ("NodePort", "LoadBalancer")]
    assert len(policy.check_services_cluster_ip(docs)) == 2


def test_flags_bad_probe_and_rollout(rendered):
    d = deployment(rendered)
    c = d["spec"]["template"]["spec"]["containers"][0]
    c["readinessProbe"]["httpGet"] = {"path": "/", "port": 5000}
    d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] = 1
    problems = policy.check_deployments([d])
    assert len(problems) == 3, problems
    del c["readinessProbe"]
    assert any("no readinessProbe" in p for p in policy.check_deployments([d]))


def test_flags_too_few_replicas_and_short_grace(rendered):
    d = deployment(rendered)
    d["spec"]["replicas"] = 1
    d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 30
    assert policy.check_min_replicas([d], 2)
    assert policy.check_graceful_shutdown([d])


def test_flags_command_in_migrate_job(rendered):
    job = copy.deepcopy(kinds(rendered["production"], "Job")[0])
    pod = job["spec"]["template"]["spec"]
    pod["containers"][0]["command"] = ["/usr/local/bin/tools", "db-migrate"]
    pod["initContainers"][0]["image"] = "busybox:1.36"
    problems = policy.check_migrate_job([job])
    assert len(problems) == 2, problems


@pytest.mark.parametrize(
    "mutate",
    [
        lambda pod, c: c["securityContext"].update(runAsNonRoot=False),
        lambda pod, c: [pod["securityContext"].pop("runAsUser"), c["securityContext"].pop("runAsUser")],
        lambda pod, c: pod["securityContext"].pop("seccompProfile"),
        lambda pod, c: c["securityContext"].pop("allowPrivilegeEscalation"),
        lambda pod, c: c["securityContext"]["capabilities"].update(drop=["NET_RAW"]),
        lambda pod, c: c["securityContext"].update(readOnlyRootFilesystem=False),
        lambda pod, c: c["securityContext"].update(privileged=True),
        lambda pod, c: pod.update(hostNetwork=True),
    ],
)
def test_flags_unrestricted_pods(rendered, mutate):
    d = deployment(rendered)
    pod = d["spec"]["template"]["spec"]
    mutate(pod, pod["containers"][0])
    assert policy.check_restricted([d])


def test_flags_default_service_account_and_token(rendered):
    d = deployment(rendered)
    pod = d["spec"]["template"]["spec"]
    del pod["serviceAccountName"]
    del pod["automountServiceAccountToken"]
    assert len(policy.check_service_account_tokens([d])) == 2


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("backend", "no tag"),
        ("registry.example.com:5000/backend", "no tag"),
        ("backend:latest", "latest"),
        ("backend:v1.2.3", None),
        ("registry.example.com:5000/ledger/backend:v1", None),
        ("backend@sha256:" + "a" * 64, None),
    ],
)
def test_image_pinning(image, problem):
    found = policy.image_problem(image)
    assert (found is None) if problem is None else (problem in found)


def test_flags_unlabelled_namespace():
    ns = {"kind": "Namespace", "metadata": {"name": "x", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}}
    assert len(policy.check_namespaces_restricted([ns])) == 3
    assert policy.check_default_deny([ns]) == ["Namespace/x: no default-deny NetworkPolicy"]


def test_flags_policy_without_remove_duplicates(rendered):
    good = policy.descheduler_policy(rendered["descheduler"])
    bad = copy.deepcopy(good)
    bad["profiles"][0]["plugins"]["balance"]["enabled"] = ["LowNodeUtilization"]
    assert policy.check_descheduler_policy(bad, {"production"}, []) == [
        "no profile enables RemoveDuplicates under plugins.balance.enabled"
    ]
    assert policy.check_descheduler_policy(good, {"some-other-namespace"}, [])


def test_flags_misspelt_evictor_arg(rendered):
    bad = copy.deepcopy(policy.descheduler_policy(rendered["descheduler"]))
    bad["profiles"][0]["pluginConfig"][0]["args"]["evictLocalStoragePod"] = True
    assert policy.check_descheduler_policy(bad, {"production"}, []) == [
        "DefaultEvictor: unknown arg 'evictLocalStoragePod'"
    ]


def test_flags_emptydir_deployment_the_evictor_would_skip(rendered):
    d = deployment(rendered)
    d["spec"]["template"]["spec"]["volumes"] = [{"name": "tmp", "emptyDir": {}}]
    good = policy.descheduler_policy(rendered["descheduler"])
    problems = policy.check_descheduler_policy(good, {"production"}, [d])
    assert problems and "evictLocalStoragePods" in problems[0]
