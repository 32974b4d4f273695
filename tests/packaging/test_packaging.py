"""The packages under deploy/ and the Dockerfile, checked without a cluster or a Docker engine:
the Helm chart with `helm lint`, `helm template` and kubeconform (real Kubernetes schemas), the
systemd unit with `systemd-analyze verify` and `security`, the image's files with the real herald.

Tools come from scripts/install-packaging-tools.sh (HERALD_TOOLS names its cache); a missing
tool fails the test, it never skips it.
"""
import os
import re
import subprocess
import sys
import tempfile
import unittest

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
sys.path.insert(0, os.path.join(ROOT, "tests/integration"))
from harness import Hub, mercure_token  # noqa: E402

TOOLS = os.environ.get("HERALD_TOOLS") or os.path.expanduser("~/.cache/herald/tools")
CHART = os.path.join(ROOT, "deploy/helm/herald")
KEY = "a-publisher-key-for-the-chart-test!"


def tool(name):
    path = os.path.join(TOOLS, name)
    if not os.access(path, os.X_OK):
        raise AssertionError(f"{path} is missing: run scripts/install-packaging-tools.sh")
    return path


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def helm_template(*sets):
    args = [tool("helm"), "template", "hub", CHART]
    for s in sets:
        args += ["--set", s]
    return run(args)


def documents(text):
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(text) if d}


def seconds(text):
    m = re.fullmatch(r"(\d+)s", text)
    assert m, text
    return int(m.group(1))


class HelmChart(unittest.TestCase):
    def test_lint_passes_strictly(self):
        r = run([tool("helm"), "lint", "--strict", CHART, "--set", f"publisherJwtKey={KEY}"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_rendered_manifests_match_the_kubernetes_schemas(self):
        for sets in ([f"publisherJwtKey={KEY}"],
                     [f"publisherJwtKey={KEY}", "replicaCount=3", "transportUrl=redis://redis:6379", "minNodes=2",
                      "ingress.enabled=true", "persistence.enabled=true", "license=abc", "dev=true"]):
            r = helm_template(*sets)
            self.assertEqual(r.returncode, 0, r.stderr)
            check = run([tool("kubeconform"), "-strict", "-summary", "-kubernetes-version", "1.34.0",
                         "-schema-location", os.path.join(TOOLS, "k8s-schemas", "{{ .ResourceKind }}{{ .KindSuffix }}.json"),
                         "-"], input=r.stdout)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
            self.assertIn("Invalid: 0, Errors: 0", check.stdout)
            self.assertNotIn("Valid: 0,", check.stdout)

    def test_kubeconform_rejects_a_broken_manifest(self):
        # The check above can fail: the same schemas refuse a misspelled field.
        r = helm_template(f"publisherJwtKey={KEY}")
        broken = r.stdout.replace("terminationGracePeriodSeconds:", "terminationGracePeriodSecond:")
        check = run([tool("kubeconform"), "-strict", "-schema-location",
                     os.path.join(TOOLS, "k8s-schemas", "{{ .ResourceKind }}{{ .KindSuffix }}.json"), "-"], input=broken)
        self.assertNotEqual(check.returncode, 0, check.stdout)

    def test_probes_grace_period_disruption_budget_and_settings(self):
        r = helm_template(f"publisherJwtKey={KEY}", "extraDirectives=anonymous", "license=the-license",
                          "writeTimeoutSeconds=300", "drainDelaySeconds=7", "drainTimeoutSeconds=20")
        self.assertEqual(r.returncode, 0, r.stderr)
        docs = documents(r.stdout)
        pod = docs[("Deployment", "hub-herald")]["spec"]["template"]["spec"]
        c = pod["containers"][0]
        env = {e["name"]: e for e in c["env"]}
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.assertEqual(env["MERCURE_ADMIN_ADDR"]["value"], ":%d" % ports["admin"])
        self.assertEqual(env["SERVER_NAME"]["value"], ":%d" % ports["http"])
        self.assertEqual(c["readinessProbe"]["httpGet"], {"path": "/mercure/health/ready", "port": "admin"})
        self.assertEqual(c["livenessProbe"]["httpGet"], {"path": "/mercure/health/live", "port": "admin"})
        grace = pod["terminationGracePeriodSeconds"]
        needed = sum(seconds(env[n]["value"]) for n in ("MERCURE_WRITE_TIMEOUT", "MERCURE_DRAIN_DELAY", "MERCURE_DRAIN_TIMEOUT"))
        self.assertEqual(needed, 327)
        self.assertGreaterEqual(grace, needed)
        self.assertEqual(env["MERCURE_EXTRA_DIRECTIVES"]["value"], "anonymous")
        self.assertEqual(env["MERCURE_LICENSE"]["valueFrom"]["secretKeyRef"]["key"], "license")
        self.assertTrue(pod["securityContext"]["runAsNonRoot"])
        self.assertTrue(c["securityContext"]["readOnlyRootFilesystem"])
        pdb = docs[("PodDisruptionBudget", "hub-herald")]["spec"]
        self.assertEqual(pdb["maxUnavailable"], 1)
        self.assertEqual(pdb["selector"]["matchLabels"], docs[("Deployment", "hub-herald")]["spec"]["selector"]["matchLabels"])
        secret = docs[("Secret", "hub-herald")]["data"]
        self.assertIn("publisher-jwt-key", secret)
        self.assertNotIn("transport-url", secret)  # unset: the embedded store's default applies

    def test_refuses_what_cannot_work(self):
        r = helm_template(f"publisherJwtKey={KEY}", "replicaCount=2")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("needs a shared engine", r.stderr)
        r = helm_template()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("publisherJwtKey is required", r.stderr)

    def test_dev_mode_runs_the_dev_caddyfile(self):
        docs = documents(helm_template(f"publisherJwtKey={KEY}", "dev=true").stdout)
        c = docs[("Deployment", "hub-herald")]["spec"]["template"]["spec"]["containers"][0]
        self.assertIn("/etc/caddy/dev.Caddyfile", c["command"])


class SystemdUnit(unittest.TestCase):
    def unit_copy(self):
        # verify checks that ExecStart's program exists: point it at the built binary.
        herald = os.environ.get("HERALD_BIN") or os.path.join(ROOT, "build/herald")
        d = tempfile.mkdtemp(prefix="herald-unit-")
        with open(os.path.join(ROOT, "deploy/systemd/herald.service")) as f:
            text = f.read()
        path = os.path.join(d, "herald.service")
        with open(path, "w") as f:
            f.write(text.replace("/usr/bin/herald", herald))
        return path

    def test_verify_reports_nothing(self):
        r = run(["systemd-analyze", "verify", self.unit_copy()])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.strip(), "", "systemd-analyze verify warned")

    def test_sandboxing_exposure_is_low(self):
        r = run(["systemd-analyze", "security", "--offline=yes", self.unit_copy()])
        m = re.search(r"Overall exposure level for herald.service: ([0-9.]+)", r.stdout)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        self.assertLess(float(m.group(1)), 2.5, r.stdout)

    def test_example_config_is_accepted(self):
        herald = os.environ.get("HERALD_BIN") or os.path.join(ROOT, "build/herald")
        # The example binds :80; run it on a free port with everything else as shipped.
        with Hub(jwt_key=None, args=["--config", os.path.join(ROOT, "deploy/systemd/mercure.yaml")],
                 cwd=tempfile.mkdtemp()) as hub:
            token = mercure_token(publish=["*"], key="!ChangeThisMercureHubJWTSecretKey!")
            self.assertEqual(hub.publish({"topic": "t", "data": "x"}, token=token)[0], 200)
        self.assertTrue(os.path.exists(herald))


class DockerImage(unittest.TestCase):
    """No Docker engine runs here: the Dockerfile is checked for what it promises, and the files
    it copies into the image are run with the real herald."""

    def dockerfile(self):
        with open(os.path.join(ROOT, "Dockerfile")) as f:
            return f.read()

    def test_multi_stage_non_root_with_a_readiness_health_check(self):
        text = self.dockerfile()
        self.assertEqual(len(re.findall(r"^FROM ", text, re.M)), 2)
        self.assertRegex(text, r"(?m)^FROM debian:12-slim$")
        self.assertRegex(text, r"(?m)^USER herald$")
        self.assertRegex(text, r"HEALTHCHECK[^\n]*\n[^\n]*/mercure/health/ready")
        for src in re.findall(r"^COPY (?!--from)(\S+(?: \S+)*) \S+$", text, re.M):
            for path in src.split():
                self.assertTrue(os.path.exists(os.path.join(ROOT, path)), path)

    def test_runtime_stage_installs_every_library_herald_links(self):
        herald = os.environ.get("HERALD_BIN") or os.path.join(ROOT, "build/herald")
        needed = re.findall(r"NEEDED\s+(\S+)", run(["objdump", "-p", herald]).stdout)
        self.assertTrue(needed)
        runtime = self.dockerfile().split("FROM debian:12-slim", 1)[1]
        for lib in needed:
            if lib.startswith(("libc.so", "libm.so", "libgcc_s", "libstdc++", "ld-linux")):
                continue  # in the base image
            path = run(["sh", "-c", f"ldconfig -p | awk '/{re.escape(lib)} /{{print $NF; exit}}'"]).stdout.strip()
            pkg = run(["dpkg", "-S", os.path.realpath(path)]).stdout.split(":")[0]
            self.assertTrue(pkg, lib)
            self.assertIn(pkg, runtime, f"{lib} comes from {pkg}, which the runtime stage does not install")

    def test_the_images_command_runs_herald_on_its_caddyfile_with_the_recipe_environment(self):
        herald = os.environ.get("HERALD_BIN") or os.path.join(ROOT, "build/herald")
        key = "!ChangeThisMercureHubJWTSecretKey!-image-test"
        env = {"SERVER_NAME": ":0", "MERCURE_PUBLISHER_JWT_KEY": key, "MERCURE_SUBSCRIBER_JWT_KEY": key,
               "MERCURE_EXTRA_DIRECTIVES": "cors_origins http://127.0.0.1:8000\nanonymous\n", "HERALD": herald}
        hub = Hub(jwt_key=None, addr=None, env=env, cwd=tempfile.mkdtemp())
        shim = os.path.join(ROOT, "deploy/docker/caddy")
        hub.command = lambda: [shim] + ["run", "--config", os.path.join(ROOT, "deploy/docker/Caddyfile"),
                                        "--adapter", "caddyfile", "--admin-addr", "127.0.0.1:0", "--transport-url", "local://"]
        with hub:
            with hub.subscribe(["https://example.com/1"]) as s:
                self.assertEqual(s.status, 200)  # anonymous
                token = mercure_token(publish=["*"], key=key)
                self.assertEqual(hub.publish({"topic": "https://example.com/1", "data": "d"}, token=token)[0], 200)
                self.assertEqual(s.next_event()["data"], "d")
        r = run([shim, "version"], env=dict(os.environ, HERALD=herald))
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()
