"""Configuration from flags, MERCURE_* environment and YAML, and the errors for bad values."""
import os
import subprocess
import unittest

from harness import HERALD_BIN, Hub, SECRET, mercure_token, temp_dir

OPTIONS = ["addr", "jwt_key", "jwt_algorithm", "publisher_jwt_key", "publisher_jwt_algorithm", "subscriber_jwt_key",
           "subscriber_jwt_algorithm", "publisher_jwks_url", "subscriber_jwks_url", "allow_anonymous",
           "cors_allowed_origins", "publish_allowed_origins", "transport_url", "heartbeat_interval", "read_timeout",
           "write_timeout", "dispatch_timeout", "subscriptions", "cookie_name", "log_format",
           "protocol_version_compatibility", "debug", "use_forwarded_headers", "shards"]


def run(args, env=None, cwd=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("MERCURE_")}
    e.update(env or {})
    return subprocess.run([HERALD_BIN] + args, capture_output=True, text=True, timeout=30, env=e,
                          cwd=cwd or temp_dir())


class Help(unittest.TestCase):
    def test_help_documents_commands_and_every_option(self):
        top = run(["--help"])
        self.assertEqual(top.returncode, 0)
        self.assertIn("run", top.stdout)
        self.assertIn("token", top.stdout)
        r = run(["run", "--help"])
        self.assertEqual(r.returncode, 0)
        for option in OPTIONS:
            self.assertIn("--" + option.replace("_", "-"), r.stdout, option)
            self.assertIn("MERCURE_" + option.upper(), r.stdout, option)


class Errors(unittest.TestCase):
    def assertConfigError(self, args, option, env=None, cwd=None):
        r = run(["run", "--addr", "127.0.0.1:0"] + args, env=env, cwd=cwd)
        self.assertEqual(r.returncode, 2, r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(option, lines[0])

    def test_bad_values_exit_2_with_one_line_naming_the_option(self):
        key = ["--jwt-key", SECRET]
        self.assertConfigError(key + ["--heartbeat-interval", "often"], "heartbeat_interval")
        self.assertConfigError(key + ["--write-timeout", "-5s"], "write_timeout")
        self.assertConfigError(key + ["--jwt-algorithm", "none"], "algorithm")
        self.assertConfigError(key + ["--transport-url", "nosuch://x"], "transport_url")
        self.assertConfigError(key + ["--transport-url", "local://?size=lots"], "transport_url")
        self.assertConfigError(key + ["--allow-anonymous=perhaps"], "allow_anonymous")
        self.assertConfigError(["--jwt-key", "@/nonexistent/key.pem"], "jwt_key")
        self.assertConfigError(["--jwt-key", "not a pem", "--jwt-algorithm", "RS256"], "jwt_key")
        self.assertConfigError([], "publisher_jwt_key")
        self.assertConfigError(key, "dispatch_timeout", env={"MERCURE_DISPATCH_TIMEOUT": "5 parsecs"})
        self.assertConfigError(key + ["--no-such-flag"], "no-such-flag")

    def test_unknown_yaml_key_and_bad_yaml(self):
        d = temp_dir()
        path = os.path.join(d, "herald.yaml")
        with open(path, "w") as f:
            f.write("jwt_key: k\nheartbeet_interval: 5s\n")
        self.assertConfigError(["--config", path], "heartbeet_interval")
        with open(path, "w") as f:
            f.write("jwt_key: [oops\n")
        self.assertConfigError(["--config", path], "herald.yaml")

    def test_unusable_address(self):
        r = run(["run", "--jwt-key", SECRET, "--addr", "127.0.0.1:99999"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("addr", r.stderr)


class Sources(unittest.TestCase):
    def test_environment_variables_configure_the_hub(self):
        env = {"MERCURE_PUBLISHER_JWT_KEY": "env-publisher-key-env-publisher-key", "MERCURE_ALLOW_ANONYMOUS": "1"}
        with Hub(jwt_key=None, env=env) as hub:
            good = mercure_token(publish=["*"], key="env-publisher-key-env-publisher-key")
            self.assertEqual(hub.publish({"topic": "e"}, token=good)[0], 200)
            self.assertEqual(hub.publish({"topic": "e"})[0], 401)  # signed with the default test key
            with hub.subscribe(["e"]) as s:
                self.assertEqual(s.status, 200)  # anonymous from the environment

    def test_mercure_yaml_in_the_working_directory_is_read_and_flags_win(self):
        d = temp_dir()
        with open(os.path.join(d, "mercure.yaml"), "w") as f:
            f.write("jwt_key: yaml-key-yaml-key-yaml-key-yaml-key\nallow_anonymous: true\ncookie_name: fromYaml\n")
        with Hub(jwt_key=None, cwd=d, cookie_name="fromFlag") as hub:
            token = mercure_token(publish=["*"], subscribe=["*"], key="yaml-key-yaml-key-yaml-key-yaml-key")
            self.assertEqual(hub.publish({"topic": "y"}, token=token)[0], 200)
            with hub.subscribe(["y"], headers={"Cookie": "fromFlag=" + token}) as s:
                self.assertEqual(s.status, 200)
            with hub.subscribe(["y"], headers={"Cookie": "fromYaml=garbage"}) as s:
                self.assertEqual(s.status, 200)  # not the configured cookie: ignored, anonymous

    def test_json_logs_are_json(self):
        import json
        with Hub(log_format="JSON") as hub:
            hub.publish({"topic": "j"})
            self.assertEqual(hub.publish({"topic": "j"}, token=None)[0], 401)  # logs reason="no token"
            self.assertTrue(hub.wait_for_log("publish_unauthorized"))
        lines = [json.loads(line) for line in hub.logs().splitlines() if line.strip()]
        self.assertTrue(any('reason="no token"' in l["msg"] for l in lines))


class Dev(unittest.TestCase):
    def test_dev_mode_prints_a_working_token(self):
        import select
        import signal
        import time
        # The default transport is the LMDB store in ./herald-data: run in a scratch directory.
        work = temp_dir()
        p = subprocess.Popen([HERALD_BIN, "run", "--dev", "--addr", "127.0.0.1:0"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=work)
        try:
            deadline = time.monotonic() + 15
            out = ""
            while "(never use" not in out and time.monotonic() < deadline:
                if select.select([p.stdout], [], [], 0.5)[0]:
                    out += os.read(p.stdout.fileno(), 65536).decode()
            token = out.split("token: ")[1].split()[0]
            port = int(out.split("http://localhost:")[1].split("/")[0])
            hub = Hub()
            hub.port = port
            self.assertEqual(hub.publish({"topic": "d"}, token=token)[0], 200)
            self.assertTrue(os.path.isdir(os.path.join(work, "herald-data")), "the default store is ./herald-data")
        finally:
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(15), 0)
            p.stdout.close()
            p.stderr.close()


if __name__ == "__main__":
    unittest.main()
