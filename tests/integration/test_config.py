"""Configuration from flags, MERCURE_* environment and YAML, and the errors for bad values."""
import os
import subprocess
import unittest

from harness import HERALD_BIN, Hub, SECRET, mercure_token, temp_dir

OPTIONS = ["addr", "jwt_key", "jwt_algorithm", "publisher_jwt_key", "publisher_jwt_algorithm", "subscriber_jwt_key",
           "subscriber_jwt_algorithm", "publisher_jwks_url", "subscriber_jwks_url", "allow_anonymous",
           "cors_allowed_origins", "publish_allowed_origins", "transport_url", "heartbeat_interval", "read_timeout",
           "write_timeout", "dispatch_timeout", "subscriptions", "cookie_name", "log_format",
           "protocol_version_compatibility", "debug", "use_forwarded_headers", "shards", "cert_file", "key_file",
           "ui", "demo", "license"]


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
        self.assertIn("--adapter", r.stdout)  # how --config is read: caddyfile or yaml
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


RECIPE_KEY = "!ChangeThisMercureHubJWTSecretKey!-in-this-compose-file"  # not the harness key


def recipe_env(server_name=":0"):
    """The Symfony recipe's docker-compose environment (its port made free for the test)."""
    return {"SERVER_NAME": server_name, "MERCURE_PUBLISHER_JWT_KEY": RECIPE_KEY,
            "MERCURE_SUBSCRIBER_JWT_KEY": RECIPE_KEY,
            "MERCURE_EXTRA_DIRECTIVES": "cors_origins http://127.0.0.1:8000\nanonymous\n"}


class DockerImageEnvironment(unittest.TestCase):
    """The Mercure image's settings, as a docker-compose file gives them, and a mercure.yaml with a license."""

    def assertBehavesAsTheRecipe(self, hub):
        token = mercure_token(publish=["*"], key=RECIPE_KEY)
        with hub.subscribe(["https://example.com/books/1"]) as s:  # anonymous, from the extra directives
            self.assertEqual(s.status, 200)
            self.assertEqual(hub.publish({"topic": "https://example.com/books/1", "data": "hi"}, token=token)[0], 200)
            self.assertEqual(s.next_event()["data"], "hi")
        self.assertEqual(hub.publish({"topic": "x"})[0], 401)  # signed with another key
        status, _, resp = hub.request("OPTIONS", "/.well-known/mercure", headers={
            "Origin": "http://127.0.0.1:8000", "Access-Control-Request-Method": "GET"})
        self.assertEqual(resp.getheader("Access-Control-Allow-Origin"), "http://127.0.0.1:8000")
        _, _, resp = hub.request("OPTIONS", "/.well-known/mercure", headers={
            "Origin": "http://elsewhere.example", "Access-Control-Request-Method": "GET"})
        self.assertIsNone(resp.getheader("Access-Control-Allow-Origin"))

    def test_recipe_environment_and_a_licensed_mercure_yaml(self):
        d = temp_dir()
        with open(os.path.join(d, "mercure.yaml"), "w") as f:
            f.write("license: 'the-ha-license-key'\n")
        env = dict(recipe_env(), MERCURE_LICENSE="the-ha-license-key", GLOBAL_OPTIONS="auto_https off",
                   CADDY_SERVER_EXTRA_DIRECTIVES="header X-Extra yes")
        with Hub(jwt_key=None, addr=None, env=env, cwd=d) as hub:
            self.assertIn("addr=:0", hub.logs())  # SERVER_NAME, not the default :8080
            self.assertBehavesAsTheRecipe(hub)
            self.assertIn("Herald needs no license", hub.logs())
            self.assertIn("global options ignored (Herald is not Caddy): auto_https", hub.logs())
            self.assertIn("directives ignored (Herald reads tls): header", hub.logs())
            self.assertNotIn("the-ha-license-key", hub.logs())

    def test_a_caddyfile_of_the_image_shape(self):
        d = temp_dir()
        path = os.path.join(d, "dev.Caddyfile")
        with open(path, "w") as f:
            f.write("{\n\t{$GLOBAL_OPTIONS}\n}\n\n{$SERVER_NAME:localhost} {\n\tencode zstd gzip\n\troute {\n"
                    "\t\tmercure {\n\t\t\tpublisher_jwt {env.MERCURE_PUBLISHER_JWT_KEY} {env.MERCURE_PUBLISHER_JWT_ALG}\n"
                    "\t\t\tsubscriber_jwt {env.MERCURE_SUBSCRIBER_JWT_KEY} {env.MERCURE_SUBSCRIBER_JWT_ALG}\n"
                    "\t\t\tsubscriptions\n\t\t\t{$MERCURE_EXTRA_DIRECTIVES}\n\t\t}\n"
                    "\t\trespond \"Not Found\" 404\n\t}\n}\n")
        with Hub(jwt_key=None, addr=None, env=recipe_env(), args=["--config", path, "--adapter", "caddyfile"]) as hub:
            self.assertBehavesAsTheRecipe(hub)
            status, body, _ = hub.request("GET", "/.well-known/mercure/subscriptions",
                                          headers={"Authorization": "Bearer " + mercure_token(subscribe=["*"], key=RECIPE_KEY)})
            self.assertEqual(status, 200, body)  # `subscriptions` from the Caddyfile
            self.assertIn("encode, respond", hub.logs())

    def test_the_debug_ui_is_served_only_when_on(self):
        with Hub() as hub:
            self.assertEqual(hub.request("GET", "/.well-known/mercure/ui/")[0], 404)
            self.assertEqual(hub.request("GET", "/")[0], 404)
        with Hub(jwt_key=None, addr=None, env=dict(recipe_env(), MERCURE_EXTRA_DIRECTIVES="ui")) as hub:
            status, body, resp = hub.request("GET", "/.well-known/mercure/ui/")
            self.assertEqual(status, 200)
            self.assertIn("<title>Herald: debug UI</title>", body)
            self.assertEqual(resp.getheader("Content-Security-Policy"), "default-src 'self'")
            status, _, resp = hub.request("GET", "/")
            self.assertEqual((status, resp.getheader("Location")), (301, "/.well-known/mercure/ui/"))
            status, body, resp = hub.request("GET", "/.well-known/mercure/ui/ui.js")
            self.assertEqual((status, resp.getheader("Content-Type")), (200, "text/javascript; charset=utf-8"))
            self.assertEqual(hub.request("GET", "/.well-known/mercure/ui/../../etc/passwd")[0], 404)
            self.assertEqual(hub.request("POST", "/.well-known/mercure/ui/")[0], 405)
            status, body, _ = hub.request("GET", "/.well-known/mercure/ui/cluster.json")
            self.assertEqual(status, 200)
            self.assertIn('"nodes"', body)

    def test_bad_extra_directives_and_caddyfiles_exit_2_with_one_line(self):
        r = run(["run"], env=dict(recipe_env(), MERCURE_EXTRA_DIRECTIVES="anonymous\ncors_origin *"))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stderr.strip().count("\n"), 0, r.stderr)
        self.assertIn("MERCURE_EXTRA_DIRECTIVES:2: unknown mercure directive cors_origin", r.stderr)
        d = temp_dir()
        with open(os.path.join(d, "Caddyfile"), "w") as f:
            f.write(":0 {\n\tmercure {\n\t\tpublisher_jwt k\n")
        r = run(["run"], cwd=d)  # ./Caddyfile is found
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("invalid Caddyfile Caddyfile:2: '{' is never closed", r.stderr)


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
