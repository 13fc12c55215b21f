"""charts/kubecnn through Helm's own engine (helm-python-sdk, Helm v4's Go SDK): strict lint,
renders with default values and with every toggle on, the schema refusing bad values with messages
that name the key, and manifests/ being exactly the default rendering."""
import json
import pathlib
import subprocess
import sys
import unittest

import helm_python as helm
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "kubecnn"

EVERY_TOGGLE = {
    "image": {"repository": "registry.example.com/kubecnn/operator", "tag": "0.1.0-rc1", "pullPolicy": "Always"},
    "imagePullSecrets": [{"name": "regcred"}],
    "replicaCount": 3,
    "operator": {"concurrency": 8, "watchNamespace": "research", "gangSchedulers": ["volcano", "scheduler-plugins"],
                 "restartBackoffSeconds": 20, "progressPeriodSeconds": 30, "kubeApiQps": 100, "kubeApiBurst": 200,
                 "podTemplate": {"allowServiceAccount": True}, "extraArgs": ["--admission_backoff=60"]},
    "serviceAccount": {"create": True, "name": "trainer-operator", "annotations": {"example.com/role": "ml"}},
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}],
    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["system"]}]}]}}},
    "priorityClassName": "system-cluster-critical",
    "podAnnotations": {"example.com/team": "ml"},
    "podLabels": {"team": "ml"},
    "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
                "podMonitor": {"enabled": True, "labels": {"release": "prometheus"}, "namespaces": ["research"]}},
    "grafana": {"dashboard": {"enabled": True, "namespace": "monitoring"}},
}


def documents(rendered):
    """Every object the rendering holds, NOTES.txt aside."""
    out = []
    for path, text in rendered.items():
        if path.endswith("NOTES.txt"):
            continue
        out.extend(d for d in yaml.safe_load_all(text) if d)
    return out


def by_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


class Chart(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.chart = helm.Chart.load(str(CHART))

    def render(self, values=None):
        return self.chart.render(values, name="kubecnn", namespace="kubecnn-system", is_install=True)

    def test_lints_strictly_without_warnings(self):
        for values in (None, EVERY_TOGGLE):
            report = helm.lint(str(CHART), values, strict=True, namespace="kubecnn-system")
            self.assertEqual(report["errors"], [])
            warnings = [m for m in report["messages"] if m["severity"] >= 2]
            self.assertEqual(warnings, [], f"lint with {values and 'every toggle'}: {warnings}")

    def test_defaults_render_the_operator_deployment_and_least_privilege_rbac(self):
        objects = documents(self.render())
        kinds = sorted(o["kind"] for o in objects)
        self.assertEqual(kinds, ["ClusterRole", "ClusterRoleBinding", "Deployment", "Pod", "Role", "RoleBinding",
                                 "Service", "ServiceAccount"])
        deployment = by_kind(objects, "Deployment")[0]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(container["image"], "kubecnn/operator:" + self.chart.metadata["appVersion"])
        self.assertIn("--leader_elect=true", container["args"])
        self.assertTrue(container["securityContext"]["readOnlyRootFilesystem"])
        self.assertEqual(deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"], 65532)
        test_pod = by_kind(objects, "Pod")[0]
        self.assertEqual(test_pod["metadata"]["annotations"]["helm.sh/hook"], "test")
        self.assertIn("/readyz", " ".join(test_pod["spec"]["containers"][0]["command"]))
        # The test pod is not one of the Service's endpoints (it would be asked its own question).
        selector = by_kind(objects, "Service")[0]["spec"]["selector"]
        labels = test_pod["metadata"]["labels"]
        self.assertFalse(all(labels.get(k) == v for k, v in selector.items()), f"{labels} matches {selector}")

    def test_every_toggle_on_renders_monitors_dashboard_and_flags(self):
        self.chart.validate_schema(EVERY_TOGGLE)
        objects = documents(self.render(EVERY_TOGGLE))
        monitor = by_kind(objects, "ServiceMonitor")[0]
        self.assertEqual(monitor["metadata"]["labels"]["release"], "prometheus")
        self.assertEqual(monitor["spec"]["endpoints"][0]["port"], "metrics")
        pods = by_kind(objects, "PodMonitor")[0]
        self.assertEqual(pods["spec"]["selector"]["matchLabels"], {"kubecnn.io/role": "worker"})
        self.assertEqual(pods["spec"]["namespaceSelector"], {"matchNames": ["research"]})
        targets = {r.get("targetLabel") for r in pods["spec"]["podMetricsEndpoints"][0]["relabelings"]}
        self.assertTrue({"trainingjob", "worker"} <= targets, targets)
        dashboard = [o for o in by_kind(objects, "ConfigMap") if o["metadata"]["name"] == "kubecnn-dashboard"][0]
        self.assertEqual(dashboard["metadata"]["namespace"], "monitoring")
        self.assertEqual(dashboard["metadata"]["labels"]["grafana_dashboard"], "1")
        self.assertEqual(json.loads(dashboard["data"]["kubecnn.json"]),
                         json.loads((CHART / "dashboards" / "kubecnn.json").read_text()))
        deployment = by_kind(objects, "Deployment")[0]
        spec = deployment["spec"]["template"]["spec"]
        args = spec["containers"][0]["args"]
        for flag in ("--watch_namespace=research", "--gang_schedulers=volcano,scheduler-plugins",
                     "--restart_backoff=20", "--progress_period=30", "--kube_api_qps=100", "--kube_api_burst=200",
                     "--concurrency=8", "--admission_backoff=60", "--allow_pod_template_service_account=true"):
            self.assertIn(flag, args)
        self.assertEqual(spec["serviceAccountName"], "trainer-operator")
        self.assertEqual(spec["imagePullSecrets"], [{"name": "regcred"}])
        self.assertEqual(spec["containers"][0]["image"], "registry.example.com/kubecnn/operator:0.1.0-rc1")
        self.assertEqual(spec["nodeSelector"], {"kubernetes.io/os": "linux"})
        self.assertIn("nodeAffinity", spec["affinity"])
        self.assertEqual(spec["priorityClassName"], "system-cluster-critical")
        self.assertEqual(deployment["spec"]["template"]["metadata"]["labels"]["team"], "ml")
        # operator.watchNamespace: the operator's rights are a Role there, nothing cluster-wide.
        self.assertEqual(by_kind(objects, "ClusterRole"), [])
        self.assertEqual(by_kind(objects, "ClusterRoleBinding"), [])
        role = [o for o in by_kind(objects, "Role") if o["metadata"]["name"] == "kubecnn-operator"][0]
        self.assertEqual(role["metadata"]["namespace"], "research")
        self.assertIn("pods", [r for rule in role["rules"] for r in rule["resources"]])
        binding = [o for o in by_kind(objects, "RoleBinding") if o["metadata"]["name"] == "kubecnn-operator"][0]
        self.assertEqual(binding["metadata"]["namespace"], "research")
        self.assertEqual(binding["roleRef"], {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                              "name": "kubecnn-operator"})
        self.assertEqual(binding["subjects"][0]["name"], "trainer-operator")
        self.assertEqual(binding["subjects"][0]["namespace"], "kubecnn-system")

    def test_network_policies_are_off_by_default(self):
        objects = documents(self.render())
        self.assertEqual(by_kind(objects, "NetworkPolicy"), [])
        args = by_kind(objects, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["args"]
        self.assertEqual([a for a in args if a.startswith("--network_polic")], [])
        role = by_kind(objects, "ClusterRole")[0]
        self.assertNotIn("networkpolicies", [r for rule in role["rules"] for r in rule["resources"]])

    def test_network_policies_on_admit_only_what_the_values_name(self):
        prometheus = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                      "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}
        nodes = {"ipBlock": {"cidr": "10.0.0.0/16"}}
        values = {"networkPolicy": {"metricsFrom": [prometheus],
                                    "operator": {"enabled": True, "healthFrom": [nodes]}, "jobs": {"enabled": True}}}
        self.chart.validate_schema(values)
        report = helm.lint(str(CHART), values, strict=True, namespace="kubecnn-system")
        self.assertEqual([m for m in report["messages"] if m["severity"] >= 2], [])
        objects = documents(self.render(values))
        deployment = by_kind(objects, "Deployment")[0]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        [policy] = by_kind(objects, "NetworkPolicy")
        self.assertEqual(policy["metadata"]["namespace"], "kubecnn-system")
        spec = policy["spec"]
        selected = spec["podSelector"]["matchLabels"]
        self.assertTrue(all(pod_labels.get(k) == v for k, v in selected.items()), f"{selected} misses {pod_labels}")
        self.assertEqual(spec["policyTypes"], ["Ingress"])
        self.assertTrue(all(rule.get("from") for rule in spec["ingress"]), "a rule without sources admits everyone")
        ports = {rule["ports"][0]["port"]: rule["from"] for rule in spec["ingress"]}
        self.assertEqual(set(ports), {8080, 8081}, "metrics and health, nothing else")
        self.assertEqual(ports[8080], [prometheus])
        test_pod = by_kind(objects, "Pod")[0]
        test_labels = test_pod["metadata"]["labels"]
        selectors = [p["podSelector"]["matchLabels"] for p in ports[8081] if "podSelector" in p]
        self.assertTrue(any(all(test_labels.get(k) == v for k, v in s.items()) for s in selectors),
                        f"`helm test` ({test_labels}) cannot reach {ports[8081]}")
        self.assertIn(nodes, ports[8081])

        # networkPolicy.jobs: the flags, with peers selecting the operator's own pods, and the verbs.
        args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        self.assertIn("--network_policies=true", args)
        flags = {a.split("=", 1)[0]: a.split("=", 1)[1] for a in args if a.startswith("--network_policy_")}
        self.assertEqual(json.loads(flags["--network_policy_metrics_from"]), [prometheus])
        [own] = json.loads(flags["--network_policy_operator_from"])
        self.assertEqual(own["namespaceSelector"], {"matchLabels": {"kubernetes.io/metadata.name": "kubecnn-system"}})
        own_labels = own["podSelector"]["matchLabels"]
        self.assertTrue(all(pod_labels.get(k) == v for k, v in own_labels.items()), f"{own_labels} vs {pod_labels}")
        role = by_kind(objects, "ClusterRole")[0]
        rule = [r for r in role["rules"] if "networkpolicies" in r["resources"]]
        self.assertEqual(rule, [{"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"],
                                 "verbs": ["get", "list", "watch", "create", "update"]}])

        # Without metricsFrom, no one but the operator reaches the metrics ports: no flag, no rule.
        values["networkPolicy"]["metricsFrom"] = []
        objects = documents(self.render(values))
        self.assertEqual([r["ports"][0]["port"] for r in by_kind(objects, "NetworkPolicy")[0]["spec"]["ingress"]],
                         [8081])
        args = by_kind(objects, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["args"]
        self.assertFalse(any(a.startswith("--network_policy_metrics_from") for a in args))
        # With operator.watchNamespace the verbs are in the namespaced Role.
        values["operator"] = {"watchNamespace": "research"}
        objects = documents(self.render(values))
        role = [o for o in by_kind(objects, "Role") if o["metadata"]["name"] == "kubecnn-operator"]
        self.assertIn("networkpolicies", [r for rule in role[0]["rules"] for r in rule["resources"]])

    def test_schema_refuses_bad_values_naming_the_key(self):
        cases = [
            ({"replicaCount": 0}, "/replicaCount"),
            ({"replicaCount": "two"}, "/replicaCount"),
            ({"replicaCount": 2, "leaderElection": {"enabled": False}}, "/replicaCount"),
            ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
            ({"operator": {"gangSchedulers": ["slurm"]}}, "/operator/gangSchedulers/0"),
            ({"operator": {"extraArgs": ["leader_elect=false"]}}, "/operator/extraArgs/0"),
            ({"metrics": {"serviceMonitor": {"enabled": "yes"}}}, "/metrics/serviceMonitor/enabled"),
            ({"metrics": {"podMonitor": {"interval": "often"}}}, "/metrics/podMonitor/interval"),
            ({"healthPort": 70000}, "/healthPort"),
            ({"networkPolicy": {"jobs": {"enabled": "yes"}}}, "/networkPolicy/jobs/enabled"),
            ({"networkPolicy": {"metricsFrom": [{"ports": [9400]}]}}, "/networkPolicy/metricsFrom/0"),
            ({"networkPolicy": {"operator": {"healthFrom": [{}]}}}, "/networkPolicy/operator/healthFrom/0"),
            ({"replicas": 2}, "replicas"),
        ]
        for values, key in cases:
            with self.subTest(values=values):
                with self.assertRaises(helm.HelmValuesError) as refused:
                    self.chart.validate_schema(values)
                self.assertIn(key, str(refused.exception))

    def test_manifests_are_the_default_rendering(self):
        check = subprocess.run([sys.executable, str(ROOT / "scripts" / "render-manifests.py"), "--check"],
                               capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_notes_show_object_storage_with_an_example_that_exists(self):
        notes = next(text for path, text in self.render().items() if path.endswith("NOTES.txt"))
        self.assertIn("spec.storage.s3", notes)
        self.assertIn("kubectl create secret generic imagenet-s3 --from-literal=AWS_ACCESS_KEY_ID=", notes)
        example = "manifests/examples/resnet50-s3.yaml"
        self.assertIn(example, notes)
        job = yaml.safe_load((ROOT / example).read_text())
        self.assertEqual(job["spec"]["storage"]["s3"]["credentialsSecret"], "imagenet-s3")

    def test_crd_declares_object_storage_with_required_credentials(self):
        crd = yaml.safe_load(self.chart.crds[0]["data"])
        spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        s3 = spec["storage"]["properties"]["s3"]
        self.assertEqual(s3["required"], ["credentialsSecret"])
        self.assertEqual(set(s3["properties"]), {"endpoint", "region", "credentialsSecret", "caBundle"})
        self.assertEqual(s3["properties"]["caBundle"]["properties"]["key"]["default"], "ca.crt")

    def test_crd_is_the_one_in_manifests(self):
        crd = self.chart.crds[0]
        self.assertTrue(crd["name"].endswith("kubecnn.io_trainingjobs.yaml"))
        self.assertEqual(yaml.safe_load(crd["data"])["spec"]["names"]["kind"], "TrainingJob")


if __name__ == "__main__":
    unittest.main()
