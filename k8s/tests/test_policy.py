"""Policy tests on the rendered overlays and the descheduler kustomization.

The first half asserts that what we ship obeys the rules; the second half feeds each checker a
manifest that breaks its rule, so a checker that silently passes everything fails here.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import policy

APP_OVERLAYS = ["development", "preview", "production"]
NAMESPACES = {"development": "branch-example", "preview": "preview-example", "production": "production"}
RELEASES = {"development": "branch-example", "preview": "preview-example", "production": "v0.1.0"}
K8S = Path(__file__).resolve().parent.parent
SECRETS_DIR = K8S / "base" / "secrets"
WEB_APPS = {"backend", "frontend", "marketing"}
GATEWAY_NAMESPACE = {"matchLabels": {"kubernetes.io/metadata.name": "envoy-gateway-system"}}
MONITORING_NAMESPACE = {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
# The newest supported Kubernetes minor (make k8s-validate passes its K8S_VERSIONS).
NEWEST_KUBERNETES = os.environ.get("K8S_VERSIONS", "1.35 1.36 1.37").split()[-1]


def kinds(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


# --- what we ship ------------------------------------------------------------------------------

@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_overlay_renders_the_whole_stack(rendered, overlay):
    docs = rendered[overlay]
    names = {(d["kind"], d["metadata"]["name"].rsplit("-", 1)[0] if d["kind"] in ("Secret", "ConfigMap") else d["metadata"]["name"]) for d in docs}
    for expected in [
        ("Deployment", "backend"), ("Deployment", "frontend"), ("Deployment", "marketing"),
        ("StatefulSet", "database"), ("Service", "database"), ("Job", f"migrate-{RELEASES[overlay]}"),
        ("Gateway", "web"), ("HTTPRoute", "https-redirect"), ("HTTPRoute", "backend"), ("HTTPRoute", "frontend"),
        ("HTTPRoute", "marketing"), ("Certificate", "web-tls"), ("EnvoyProxy", "web"), ("ClientTrafficPolicy", "web"),
        ("BackendTrafficPolicy", "web"), ("BackendTrafficPolicy", "retry-safe-methods"),
        ("Secret", "stripe-webhook-secret"), ("Namespace", NAMESPACES[overlay]),
        ("CronJob", "db-backup"), ("Secret", "backup-secrets"), ("ConfigMap", "backup-config"),
    ]:
        assert expected in names, f"{overlay} lacks {expected}"
    assert all(
        d["metadata"].get("namespace") == NAMESPACES[overlay] for d in docs if d["kind"] != "Namespace"
    )


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_backend_behind_gateway_trusts_forwarded_for(rendered, overlay):
    """Only the gateway's proxies reach the web pods, and Envoy makes the last X-Forwarded-For
    entry the client it sees: the address the login rate limit must key on."""
    docs = rendered[overlay]
    configs = [d for d in kinds(docs, "ConfigMap") if d["metadata"]["name"].startswith("backend-config")]
    assert len(configs) == 1
    assert configs[0]["data"].get("TRUST_FORWARDED_FOR") == "true"
    assert policy.check_network_ingress_sources(docs, WEB_APPS, GATEWAY_NAMESPACE, MONITORING_NAMESPACE) == []
    assert policy.check_client_address(docs) == []


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_backend_gets_its_billing_settings_and_reaches_stripe(rendered, overlay):
    """Subscribe needs the Stripe key (a secret), the price, the app URL Stripe sends the browser
    back to, and HTTPS egress to api.stripe.com past the default-deny policy."""
    docs = rendered[overlay]
    config = next(d for d in kinds(docs, "ConfigMap") if d["metadata"]["name"].startswith("backend-config"))["data"]
    for key in ("STRIPE_PRICE_ID", "APP_URL", "TRIAL_DAYS"):
        assert config.get(key), f"{overlay}: backend-config lacks {key}"
    assert config["APP_URL"].startswith("https://")
    backend = next(d for d in kinds(docs, "Deployment") if d["metadata"]["name"] == "backend")
    env = {e["name"]: e for e in backend["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["STRIPE_API_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "STRIPE_API_KEY"
    egress = [
        p for p in kinds(docs, "NetworkPolicy")
        if p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") == "backend"
        and "Egress" in p["spec"]["policyTypes"]
    ]
    ports = {(port["protocol"], port["port"]) for p in egress for rule in p["spec"].get("egress", [])
             for port in rule.get("ports", [])}
    assert ("TCP", 443) in ports, f"{overlay}: no HTTPS egress for the backend"


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_backend_connects_as_the_application_role_the_migration_job_creates(rendered, overlay):
    """Least privilege: the schema owner migrates and creates the application role; the backend
    logs in as that role (DML only), with the password the Job set; backups stay the owner."""
    import base64

    docs = rendered[overlay]

    def secret_env(container, secret_prefix):
        env = {}
        for e in container.get("env") or []:
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref and ref["name"].startswith(secret_prefix):
                secret = next(d for d in kinds(docs, "Secret") if d["metadata"]["name"] == ref["name"])
                raw = secret.get("data", {}).get(ref["key"])
                env[e["name"]] = base64.b64decode(raw).decode() if raw else secret["stringData"][ref["key"]]
        return env

    [job] = [d for d in kinds(docs, "Job") if d["metadata"]["name"].startswith("migrate")]
    [migrate] = job["spec"]["template"]["spec"]["containers"]
    backend = next(d for d in kinds(docs, "Deployment") if d["metadata"]["name"] == "backend")
    job_env = secret_env(migrate, "migrate-secrets")
    backend_env = secret_env(backend["spec"]["template"]["spec"]["containers"][0], "backend-secrets")
    url = re.compile(r"postgres://(?P<user>[^:@]+):(?P<password>[^@]+)@")
    owner = url.match(job_env["DATABASE_URL"])
    app = url.match(backend_env["DATABASE_URL"])
    assert owner and app, (job_env, backend_env)
    assert owner["user"] == "ledger" and app["user"] == job_env["APP_DATABASE_USER"] == "ledger_app"
    assert app["password"] == job_env["APP_DATABASE_PASSWORD"] == "__APP_DATABASE_PASSWORD__"
    assert owner["password"] == "__DATABASE_PASSWORD__"
    backup = (SECRETS_DIR / "backup.env").read_text()
    assert f"DATABASE_URL={job_env['DATABASE_URL']}" in backup, "backups read every table: the owner"


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
    assert len(kinds(everything, "Deployment")) == 3 * len(APP_OVERLAYS)
    assert policy.check_deployments(everything) == []


def test_no_manifest_allows_insecure_defaults(everything):
    assert policy.check_no_insecure_defaults_switch(everything) == []
    d = copy.deepcopy(kinds(everything, "Deployment")[0])
    d["spec"]["template"]["spec"]["containers"][0].setdefault("env", []).append(
        {"name": "ALLOW_INSECURE_DEFAULTS", "value": "true"})
    assert policy.check_no_insecure_defaults_switch([d])
    cm = {"kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"ALLOW_INSECURE_DEFAULTS": "true"}}
    assert policy.check_no_insecure_defaults_switch([cm])


def test_graceful_shutdown_fits_in_grace_period(everything):
    assert policy.check_graceful_shutdown(everything) == []


def test_production_runs_at_least_two_replicas(rendered):
    assert policy.check_min_replicas(rendered["production"], 2) == []


def test_production_images_are_release_versions(rendered):
    images = [c["image"] for _, pod in policy.pod_specs(rendered["production"]) for c in policy.containers(pod)]
    assert len(images) == 7
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
    assert len(kinds(everything, "Job")) == len(APP_OVERLAYS)
    assert policy.check_migrate_job(everything) == []


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_backup_cronjob_runs_daily_once_at_a_time_into_the_overlays_own_target(rendered, overlay):
    docs = rendered[overlay]
    assert policy.check_backup_cronjob(docs) == []
    [cron] = kinds(docs, "CronJob")
    image = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert policy.image_tag(image) == RELEASES[overlay], "the backup image follows the release"
    targets = {
        o: next(d["data"]["BACKUP_TO"] for d in kinds(rendered[o], "ConfigMap")
                if d["metadata"]["name"].startswith("backup-config"))
        for o in APP_OVERLAYS
    }
    assert len(set(targets.values())) == len(APP_OVERLAYS), f"overlays share a backup target: {targets}"


# The only policies with egress outside the cluster: db-backup (object store) and the backend
# (Stripe's API); every other pod stays inside.
OUTSIDE_EGRESS = {"allow-backup-egress", "allow-backend-to-stripe"}


def test_only_the_backup_and_stripe_calls_reach_outside_the_cluster(rendered):
    """The database admits db-backup, and db-backup's egress is the database and HTTPS only;
    besides it only the backend's Stripe policy names addresses outside the cluster."""
    docs = rendered["production"]
    [egress] = [d for d in kinds(docs, "NetworkPolicy") if d["metadata"]["name"] == "allow-backup-egress"]
    ports = sorted(p["port"] for rule in egress["spec"]["egress"] for p in rule["ports"])
    assert ports == [443, 5432], ports
    for policy_doc in kinds(docs, "NetworkPolicy"):
        for rule in policy_doc["spec"].get("egress") or []:
            if any("ipBlock" in peer for peer in rule.get("to") or []):
                assert policy_doc["metadata"]["name"] in OUTSIDE_EGRESS, policy_doc["metadata"]["name"]
    [db_in] = [d for d in kinds(docs, "NetworkPolicy") if d["metadata"]["name"] == "allow-clients-to-database"]
    sources = {p["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for p in db_in["spec"]["ingress"][0]["from"]}
    assert "db-backup" in sources


@pytest.mark.parametrize(
    "mutate, problem",
    [
        (lambda cron, c: cron["spec"].update(concurrencyPolicy="Allow"), "Forbid"),
        (lambda cron, c: cron["spec"].update(schedule="*/5 * * * *"), "once a day"),
        (lambda cron, c: c.update(command=["/usr/local/bin/tools"]), "command"),
        (lambda cron, c: c.update(image="registry.example.com/ledger/tools:v1"), "backup image"),
        (lambda cron, c: c.update(envFrom=[r for r in c["envFrom"] if "secretRef" not in r]), "Secret"),
        (lambda cron, c: c["env"].append({"name": "AWS_SECRET_ACCESS_KEY", "value": "x"}), "written into"),
        (lambda cron, c: c.update(volumeMounts=[]), "emptyDir"),
    ],
)
def test_flags_backup_cronjob_mistakes(rendered, mutate, problem):
    docs = copy.deepcopy(rendered["production"])
    [cron] = kinds(docs, "CronJob")
    mutate(cron, cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0])
    problems = policy.check_backup_cronjob(docs)
    assert any(problem in p for p in problems), problems


def render_release(tmp_path, overlay, tag):
    """The overlay rendered with its release set to `tag` (what `make deploy TAG=` does in its
    copy of k8s/: rewrite the `tag:` line of the overlay's release.yaml)."""
    tree = tmp_path / f"k8s-{tag}-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(K8S, tree, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    release = tree / "overlays" / overlay / "release.yaml"
    text, n = re.subn(r"(?m)^  tag: .*$", f"  tag: {tag}", release.read_text())
    assert n == 1, release
    release.write_text(text)
    out = subprocess.run(["kubectl", "kustomize", str(tree / "overlays" / overlay)],
                         check=True, capture_output=True, text=True).stdout
    return policy.load_all(out)


def job_names(docs):
    return [d["metadata"]["name"] for d in kinds(docs, "Job")]


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_each_release_gets_its_own_migration_job_and_a_release_renders_the_same(tmp_path, overlay):
    one = render_release(tmp_path, overlay, "v1.4.0")
    two = render_release(tmp_path, overlay, "v1.5.0")
    again = render_release(tmp_path, overlay, "v1.4.0")
    assert job_names(one) == ["migrate-v1.4.0"]
    assert job_names(two) == ["migrate-v1.5.0"]
    assert one == again  # same release: same objects, so `kubectl apply` changes nothing
    assert policy.check_migrate_job(one) == []
    # The release tags every image built here, and only those.
    for docs, tag in ((one, "v1.4.0"), (two, "v1.5.0")):
        for _, pod in policy.pod_specs(docs):
            for c in policy.containers(pod):
                repo = policy.image_repo(c["image"])
                if repo in {"backend", "frontend", "marketing", "tools", "backup"}:
                    assert policy.image_tag(c["image"]) == tag, c["image"]
                else:
                    assert policy.image_tag(c["image"]) != tag, c["image"]
    assert not [d for d in one if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "release"]


def test_flags_a_migration_job_whose_name_ignores_the_release(rendered):
    job = copy.deepcopy(kinds(rendered["production"], "Job")[0])
    job["metadata"]["name"] = "migrate"
    assert any("migrate-<release tag>" in p for p in policy.check_migrate_job([job]))
    job = copy.deepcopy(kinds(rendered["production"], "Job")[0])
    job["spec"]["backoffLimit"] = 10
    job["spec"].pop("ttlSecondsAfterFinished")
    problems = policy.check_migrate_job([job])
    assert any("backoffLimit" in p for p in problems) and any("ttlSecondsAfterFinished" in p for p in problems)


def test_every_pod_is_restricted(everything):
    assert len(list(policy.pod_specs(everything))) == 6 * len(APP_OVERLAYS) + 1  # per overlay: 3 Deployments, database, migration, backup; the descheduler
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


def test_no_ingress_anywhere(everything):
    assert policy.check_no_ingress(everything) == []


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_gateway_redirects_http_and_terminates_tls_per_host(rendered, overlay):
    classes = {d["metadata"]["name"] for d in kinds(rendered["platform"], "GatewayClass")}
    assert classes == {"envoy-gateway"}
    docs = rendered[overlay]
    assert [d["spec"]["gatewayClassName"] for d in kinds(docs, "Gateway")] == ["envoy-gateway"]
    assert policy.check_gateways(docs, classes) == []


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_every_app_service_is_reached_only_through_an_https_route(rendered, overlay):
    docs = rendered[overlay]
    assert policy.check_services_behind_routes(docs) == []
    webhook = [
        rule for route in kinds(docs, "HTTPRoute") if route["metadata"]["name"] == "backend"
        for rule in route["spec"]["rules"]
        if {"path": {"type": "Exact", "value": "/billing/webhook"}, "method": "POST"} in rule.get("matches", [])
    ]
    assert [ref["name"] for rule in webhook for ref in rule["backendRefs"]] == ["backend"]


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_gateway_idle_timeout_is_below_every_service_keepalive(rendered, overlay):
    assert policy.check_idle_timeout_below_keepalive(rendered[overlay]) == []


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_gateway_retries_only_safe_methods(rendered, overlay):
    docs = rendered[overlay]
    assert [d for d in kinds(docs, "BackendTrafficPolicy") if "retry" in d["spec"]]
    assert policy.check_retries_safe_methods_only(docs) == []


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_config_urls_name_the_gateway_hosts(rendered, overlay):
    assert policy.check_hosts_consistent(rendered[overlay]) == []


def test_certificate_solver_uses_no_node_port(rendered):
    assert kinds(rendered["platform"], "ClusterIssuer")
    assert policy.check_issuers(rendered["platform"]) == []


def app_namespaces(rendered):
    return [d for o in APP_OVERLAYS for d in kinds(rendered[o], "Namespace")]


def test_descheduler_policy_spreads_our_namespaces(rendered):
    policy_doc = policy.descheduler_policy(rendered["descheduler"])
    app_docs = rendered["development"] + rendered["production"]
    assert len(app_namespaces(rendered)) == len(APP_OVERLAYS)
    assert policy.check_descheduler_policy(policy_doc, app_namespaces(rendered), app_docs) == []


def test_descheduler_covers_a_new_branch_namespace_without_listing_it(rendered):
    """A preview namespace made from the base carries the label the evictor selects by."""
    policy_doc = policy.descheduler_policy(rendered["descheduler"])
    preview = copy.deepcopy(kinds(rendered["development"], "Namespace")[0])
    preview["metadata"]["name"] = "branch-some-new-feature"
    assert policy.check_descheduler_policy(policy_doc, [preview], []) == []
    configs = {c["name"]: c.get("args") or {} for c in policy_doc["profiles"][0]["pluginConfig"]}
    assert "namespaces" not in configs["RemoveDuplicates"]  # no list to keep up to date
    stranger = {"kind": "Namespace", "metadata": {"name": "other-team", "labels": {}}}
    assert policy.check_descheduler_policy(policy_doc, [stranger], [])


def test_descheduler_rbac_is_what_v0_37_needs(rendered):
    assert policy.check_descheduler_rbac(rendered["descheduler"]) == []


def test_descheduler_is_a_bounded_cronjob_in_kube_system(rendered):
    cron = kinds(rendered["descheduler"], "CronJob")[0]
    assert cron["metadata"]["namespace"] == "kube-system"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["startingDeadlineSeconds"] > 0
    assert cron["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] > 0
    image = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"]
    # The descheduler's minor version is the newest supported Kubernetes minor's.
    minor = NEWEST_KUBERNETES.split(".")[1]
    assert re.fullmatch(rf"registry\.k8s\.io/descheduler/descheduler:v0\.{minor}\.\d+", image), image


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
            if key in ("POSTGRES_USER", "POSTGRES_DB", "APP_DATABASE_USER"):
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


def test_flags_a_liveness_probe_that_does_not_exercise_http_or_fails_while_draining(rendered):
    d = deployment(rendered)
    c = d["spec"]["template"]["spec"]["containers"][0]
    assert c["livenessProbe"]["httpGet"]["path"] == "/livez"
    c["livenessProbe"] = {"tcpSocket": {"port": "http"}}
    assert any("livenessProbe tcpSocket" in p for p in policy.check_deployments([d]))
    c["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": "http"}}
    assert any("liveness path '/healthz'" in p for p in policy.check_deployments([d]))


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
    assert policy.check_descheduler_policy(bad, app_namespaces(rendered), []) == [
        "profile ledger: LowNodeUtilization is enabled but has no pluginConfig entry",
        "no profile enables RemoveDuplicates under plugins.balance.enabled",
    ]


def test_flags_misspelt_and_deprecated_evictor_args(rendered):
    good = policy.descheduler_policy(rendered["descheduler"])
    bad = copy.deepcopy(good)
    args = bad["profiles"][0]["pluginConfig"][0]["args"]
    args["nodeFitt"] = True
    args["ignorePvcPods"] = True
    args["podProtections"]["extraEnabled"].append("PodsWithPvc")
    assert policy.check_descheduler_policy(bad, app_namespaces(rendered), []) == [
        "DefaultEvictor: deprecated key 'ignorePvcPods'; use podProtections.extraEnabled: [PodsWithPVC]",
        "DefaultEvictor: unknown key 'nodeFitt'",
        "DefaultEvictor.podProtections.extraEnabled: unknown 'PodsWithPvc'",
    ]


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda p: p.update(metricsCollector={"enabled": True}), "deprecated key 'metricsCollector'"),
        (lambda p: p.update(maxNoOfPodsToEvictPerNod=1), "unknown key 'maxNoOfPodsToEvictPerNod'"),
        (lambda p: p["profiles"][0]["plugins"].update(balanse={}), "unknown key 'balanse'"),
        (lambda p: p["profiles"][0]["pluginConfig"][0]["args"].update(nodeFit=False), "nodeFit is not true"),
        (lambda p: p["profiles"][0]["pluginConfig"][1].update(args={"namespace": {"include": ["x"]}}),
         "RemoveDuplicates: unknown key 'namespace'"),
        (lambda p: p["profiles"][0]["pluginConfig"][1].update(args={"namespaces": {"include": ["production"]}}),
         "leave out branch-example"),
        (lambda p: p["profiles"][0]["pluginConfig"][0]["args"]["namespaceLabelSelector"].update(
            matchLabels={"team": "ledger"}), "does not match the evictor's namespaceLabelSelector"),
        (lambda p: p["profiles"][0]["pluginConfig"][0]["args"].update(evictLocalStoragePods=True),
         "deprecated key 'evictLocalStoragePods'"),
    ],
)
def test_flags_policy_mistakes(rendered, mutate, problem):
    bad = copy.deepcopy(policy.descheduler_policy(rendered["descheduler"]))
    mutate(bad)
    problems = policy.check_descheduler_policy(bad, app_namespaces(rendered), [])
    assert any(problem in p for p in problems), problems


def test_flags_emptydir_deployment_the_evictor_would_skip(rendered):
    d = deployment(rendered)
    d["spec"]["template"]["spec"]["volumes"] = [{"name": "tmp", "emptyDir": {}}]
    good = policy.descheduler_policy(rendered["descheduler"])
    problems = policy.check_descheduler_policy(good, app_namespaces(rendered), [d])
    assert problems and "PodsWithLocalStorage" in problems[0]


def test_flags_descheduler_rbac_beyond_v0_37(rendered):
    docs = copy.deepcopy(rendered["descheduler"])
    role = kinds(docs, "ClusterRole")[0]
    pods = next(r for r in role["rules"] if r["resources"] == ["pods"])
    pods["verbs"].append("delete")
    role["rules"] = [r for r in role["rules"] if r["resources"] != ["persistentvolumeclaims"]]
    assert policy.check_descheduler_rbac(docs) == [
        "ClusterRole/descheduler: core/pods: verbs ['delete'] beyond what v0.37 needs",
        "ClusterRole/descheduler: core/persistentvolumeclaims: lacks ['get', 'list', 'watch']",
    ]


# --- the gateway checkers catch what they are meant to catch ------------------------------------

def prod(rendered):
    return copy.deepcopy(rendered["production"])


def find(docs, kind, name):
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def test_flags_ingress_and_nginx_annotations():
    ingress = {"kind": "Ingress", "metadata": {"name": "web"}}
    svc = {"kind": "Service", "metadata": {"name": "x", "annotations": {"nginx.ingress.kubernetes.io/ssl-redirect": "true"}}}
    assert len(policy.check_no_ingress([ingress, svc])) == 2


def test_flags_http_listener_serving_an_app(rendered):
    docs = prod(rendered)
    find(docs, "HTTPRoute", "frontend")["spec"]["parentRefs"][0]["sectionName"] = "http"
    problems = policy.check_gateways(docs, {"envoy-gateway"})
    assert any("plain-HTTP listener http but does more than a 301" in p for p in problems), problems
    assert any("listener https-app has no route" in p for p in problems), problems


def test_flags_route_attached_to_every_listener(rendered):
    docs = prod(rendered)
    del find(docs, "HTTPRoute", "marketing")["spec"]["parentRefs"][0]["sectionName"]
    assert any("would attach to every listener" in p for p in policy.check_gateways(docs, {"envoy-gateway"}))


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda f: f.update(statusCode=302), "more than a 301"),
        (lambda f: f.update(scheme="http"), "more than a 301"),
    ],
)
def test_flags_redirect_that_is_not_a_permanent_https_redirect(rendered, mutate, problem):
    docs = prod(rendered)
    mutate(find(docs, "HTTPRoute", "https-redirect")["spec"]["rules"][0]["filters"][0]["requestRedirect"])
    assert any(problem in p for p in policy.check_gateways(docs, {"envoy-gateway"}))


def test_flags_certificate_not_covering_a_listener_and_unknown_class(rendered):
    docs = prod(rendered)
    find(docs, "Certificate", "web-tls")["spec"]["dnsNames"].remove("www.example.com")
    problems = policy.check_gateways(docs, {"some-other-class"})
    assert any("does not cover www.example.com" in p for p in problems), problems
    assert any("gatewayClassName 'envoy-gateway' is none of" in p for p in problems), problems


def test_flags_service_without_route_and_route_to_database(rendered):
    docs = prod(rendered)
    route = find(docs, "HTTPRoute", "marketing")
    for rule in route["spec"]["rules"]:
        rule["backendRefs"] = [{"name": "database", "port": 5432}]
    problems = policy.check_services_behind_routes(docs)
    assert any("routes to headless Service database" in p for p in problems), problems
    assert any("Service/production/marketing: not the backend" in p for p in problems), problems


@pytest.mark.parametrize("overlay", APP_OVERLAYS)
def test_metrics_are_scraped_and_never_routable(rendered, overlay):
    assert policy.check_metrics_scraped(rendered[overlay], WEB_APPS) == []


def test_flags_metrics_port_missing_unscraped_or_exposed(rendered):
    docs = prod(rendered)
    find(docs, "Deployment", "marketing")["spec"]["template"]["spec"]["containers"][0]["ports"].pop()
    find(docs, "PodMonitor", "ledger-services")["spec"]["selector"]["matchExpressions"][0]["values"].remove("backend")
    find(docs, "Service", "frontend")["spec"]["ports"].append({"name": "metrics", "port": 9090, "targetPort": "metrics"})
    problems = policy.check_metrics_scraped(docs, WEB_APPS)
    assert any("marketing/marketing: no container port metrics=9090" in p for p in problems), problems
    assert "app backend: no PodMonitor scrapes its metrics port" in problems, problems
    assert any("frontend: exposes the metrics port" in p for p in problems), problems


def test_flags_monitoring_beyond_the_metrics_port_and_the_gateway_on_it(rendered):
    docs = prod(rendered)
    scrape = find(docs, "NetworkPolicy", "allow-monitoring-to-metrics")
    scrape["spec"]["ingress"][0]["ports"].append({"protocol": "TCP", "port": "http"})
    problems = policy.check_network_ingress_sources(docs, WEB_APPS, GATEWAY_NAMESPACE, MONITORING_NAMESPACE)
    assert any("allow-monitoring-to-metrics: admits" in p for p in problems), problems
    docs = prod(rendered)
    find(docs, "NetworkPolicy", "allow-gateway-to-web")["spec"]["ingress"][0]["ports"].append({"protocol": "TCP", "port": "metrics"})
    problems = policy.check_network_ingress_sources(docs, WEB_APPS, GATEWAY_NAMESPACE, MONITORING_NAMESPACE)
    assert any("admits the gateway to the metrics port" in p for p in problems), problems


def test_flags_network_policy_admitting_more_than_the_gateway(rendered):
    docs = prod(rendered)
    netpol = find(docs, "NetworkPolicy", "allow-gateway-to-web")
    netpol["spec"]["ingress"][0]["from"].append({"ipBlock": {"cidr": "0.0.0.0/0"}})
    assert policy.check_network_ingress_sources(docs, WEB_APPS, GATEWAY_NAMESPACE)
    netpol["spec"]["ingress"][0]["from"] = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
    problems = policy.check_network_ingress_sources(docs, WEB_APPS, GATEWAY_NAMESPACE)
    assert "app backend: no NetworkPolicy admits the gateway" in problems, problems


IDLE, CLIENT = policy.check_idle_timeout_below_keepalive, policy.check_client_address


@pytest.mark.parametrize(
    ("check", "mutate", "problem"),
    [
        # Envoy's one-hour default comes back when nothing sets the idle timeout...
        (IDLE, lambda docs: find(docs, "BackendTrafficPolicy", "web")["spec"]["timeout"]["http"].pop("connectionIdleTimeout"),
         "no upstream connectionIdleTimeout (Envoy's default 1h)"),
        # ... or when a more specific policy replaces the Gateway-wide one instead of merging.
        (IDLE, lambda docs: find(docs, "BackendTrafficPolicy", "retry-safe-methods")["spec"].pop("mergeType"),
         "rule 'reads' -> Service backend: no upstream connectionIdleTimeout"),
        (IDLE, lambda docs: find(docs, "BackendTrafficPolicy", "web")["spec"]["timeout"]["http"].update(connectionIdleTimeout="75s"),
         "gateway idle timeout 75s is not below"),
        (IDLE, lambda docs: find(docs, "BackendTrafficPolicy", "web")["spec"]["timeout"]["http"].update(connectionIdleTimeout="1m30s"),
         "gateway idle timeout 90s is not below"),
        (IDLE, lambda docs: next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("marketing-config"))["data"].pop("KEEPALIVE_TIMEOUT_SECONDS"),
         "Deployment/production/marketing/marketing does not set KEEPALIVE_TIMEOUT_SECONDS"),
        (CLIENT, lambda docs: find(docs, "EnvoyProxy", "web")["spec"]["provider"]["kubernetes"]["envoyService"].update(externalTrafficPolicy="Cluster"),
         "externalTrafficPolicy Local or proxyProtocol"),
        (CLIENT, lambda docs: find(docs, "ClientTrafficPolicy", "web")["spec"].update(clientIPDetection={"xForwardedFor": {"numTrustedHops": 1}}),
         "numTrustedHops 1 and disableXForwardedForAppend true"),
        (CLIENT, lambda docs: find(docs, "ClientTrafficPolicy", "web")["spec"].update(clientIPDetection={"xForwardedFor": {"numTrustedHops": 2, "disableXForwardedForAppend": True}}),
         "numTrustedHops 1 and disableXForwardedForAppend true"),
        (CLIENT, lambda docs: find(docs, "ClientTrafficPolicy", "web")["spec"].pop("clientIPDetection"),
         "sets no clientIPDetection"),
    ],
)
def test_flags_gateway_policy_mistakes(rendered, check, mutate, problem):
    docs = prod(rendered)
    mutate(docs)
    problems = check(docs)
    assert any(problem in p for p in problems), problems


def test_flags_retries_on_writes_or_overload(rendered):
    docs = prod(rendered)
    btp = find(docs, "BackendTrafficPolicy", "retry-safe-methods")
    btp["spec"]["targetRefs"].append({"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "backend", "sectionName": "writes"})
    btp["spec"]["retry"]["retryOn"]["triggers"].append("5xx")
    find(docs, "BackendTrafficPolicy", "web")["spec"]["retry"] = {"numRetries": 1}
    problems = policy.check_retries_safe_methods_only(docs)
    assert any("backend/writes which matches methods [None]" in p for p in problems), problems
    assert any("retries on 5xx" in p for p in problems), problems
    assert any("BackendTrafficPolicy/production/web: retries on" in p and "Gateway" in p for p in problems), problems
    assert any("Envoy Gateway's default" in p for p in problems), problems


def test_client_address_behind_one_l7_load_balancer_is_accepted(rendered):
    docs = prod(rendered)
    find(docs, "ClientTrafficPolicy", "web")["spec"]["clientIPDetection"] = {
        "xForwardedFor": {"numTrustedHops": 1, "disableXForwardedForAppend": True}}
    assert policy.check_client_address(docs) == []


def test_flags_overlay_that_forgot_a_host(rendered):
    docs = copy.deepcopy(rendered["development"])
    find(docs, "Gateway", "web")["spec"]["listeners"][3]["hostname"] = "backend.example.com"
    assert policy.check_hosts_consistent(docs) == [
        "ConfigMap frontend-config: PUBLIC_API_URL='https://branch-example.backend.example.com', "
        "want https://backend.example.com (the backend listener)"
    ]


def test_flags_node_port_acme_solver(rendered):
    docs = copy.deepcopy(rendered["platform"])
    solver = kinds(docs, "ClusterIssuer")[0]["spec"]["acme"]["solvers"][0]["http01"]["gatewayHTTPRoute"]
    del solver["serviceType"]
    assert len(policy.check_issuers(docs)) == 1


@pytest.mark.parametrize(("text", "seconds"), [("60s", 60), ("1h", 3600), ("1m30s", 90), ("500ms", 0.5)])
def test_parse_duration(text, seconds):
    assert policy.parse_duration(text) == seconds
