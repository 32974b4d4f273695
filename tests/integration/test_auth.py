"""Authorization: algorithms and key types, token sources, cookies, anonymous access, JWKS."""
import json
import os
import subprocess
import time
import unittest

from harness import (HERALD_BIN, Hub, HubTestCase, PUBLISHER, SECRET, b64url, herald_token, hs_token,
                     mercure_token, temp_dir)

TMP = temp_dir()


def keypair(name, genpkey_args):
    private = os.path.join(TMP, name + ".key")
    public = os.path.join(TMP, name + ".pub")
    subprocess.run(["openssl", "genpkey", "-out", private] + genpkey_args, check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", private, "-pubout", "-out", public], check=True, capture_output=True)
    return private, public


KEYS = {
    "RS256": keypair("rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
    "ES256": keypair("ec256", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
    "ES384": keypair("ec384", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]),
    "EdDSA": keypair("ed", ["-algorithm", "ED25519"]),
}


class AsymmetricAlgorithms(unittest.TestCase):
    def test_each_algorithm_with_its_pem_key(self):
        for alg, (private, public) in KEYS.items():
            with self.subTest(alg=alg):
                with Hub(jwt_key="@" + public, jwt_algorithm=alg) as hub:
                    sub_token = herald_token(private, alg, subscribe=["*"])
                    pub_token = herald_token(private, alg, publish=["*"])
                    with hub.subscribe(["a"], token=sub_token) as s:
                        self.assertEqual(s.status, 200)
                        self.assertEqual(hub.publish({"topic": "a", "data": alg}, token=pub_token)[0], 200)
                        self.assertEqual(s.next_event()["data"], alg)
                    # An HS256 token "signed" with the public key is the classic confusion attack.
                    with open(public) as f:
                        forged = mercure_token(publish=["*"], key=f.read())
                    self.assertEqual(hub.publish({"topic": "a"}, token=forged)[0], 401)
                    # A token of another algorithm family is refused.
                    other = "ES256" if alg != "ES256" else "RS256"
                    self.assertEqual(hub.publish({"topic": "a"}, token=herald_token(KEYS[other][0], other,
                                                                                    publish=["*"]))[0], 401)

    def test_key_that_does_not_suit_the_algorithm_is_a_config_error(self):
        r = subprocess.run([HERALD_BIN, "run", "--addr", "127.0.0.1:0", "--jwt-key", "@" + KEYS["EdDSA"][1],
                            "--jwt-algorithm", "RS256"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("jwt_key", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)


class Tokens(HubTestCase):
    hub_options = {"cookie_name": "hubCookie", "publish_allowed_origins": "https://app.example.com"}

    def test_alg_none_is_rejected(self):
        token = b64url(b'{"alg":"none","typ":"JWT"}') + "." + b64url(json.dumps(
            {"mercure": {"publish": ["*"], "subscribe": ["*"]}}).encode()) + "."
        self.assertEqual(self.hub.publish({"topic": "x"}, token=token)[0], 401)
        with self.hub.subscribe(["x"], token=token) as s:
            self.assertEqual(s.status, 401)

    def test_malformed_tokens_never_crash_the_hub(self):
        for bad in ["a.b.c", "....", "x" * 100, b64url(b"{") + ".e30.sig", "é" * 30,
                    hs_token({"mercure": {"publish": "*"}}), hs_token({"mercure": {"publish": ["*"]}, "exp": "never"}),
                    hs_token({"mercure": {"publish": ["*"]}}, alg="HS512")]:
            self.assertEqual(self.hub.publish({"topic": "x"}, token=bad)[0], 401, bad[:40])
        self.assertHubStillServes()

    def test_subscriber_without_token_is_401_when_anonymous_is_off(self):
        with self.hub.subscribe(["x"]) as s:
            self.assertEqual(s.status, 401)
        with self.hub.subscribe(["x"], token=mercure_token(subscribe=["*"], exp=int(time.time()) - 5)) as s:
            self.assertEqual(s.status, 401)

    def test_authorization_query_parameter(self):
        token = mercure_token(subscribe=["*"])
        with self.hub.subscribe(["q"], query={"authorization": token}) as s:
            self.assertEqual(s.status, 200)
        with self.hub.subscribe(["q"], query={"authorization": "short"}) as s:
            self.assertEqual(s.status, 401)

    def test_malformed_header_wins_over_valid_cookie(self):
        cookie = "hubCookie=" + mercure_token(subscribe=["*"])
        with self.hub.subscribe(["q"], headers={"Cookie": cookie}) as s:
            self.assertEqual(s.status, 200)
        with self.hub.subscribe(["q"], headers={"Cookie": cookie, "Authorization": "Bearer short"}) as s:
            self.assertEqual(s.status, 401)

    def test_cookie_publish_needs_an_allowed_origin(self):
        cookie = {"Cookie": "hubCookie=" + PUBLISHER}
        self.assertEqual(self.hub.publish({"topic": "c"}, token=None, headers=cookie)[0], 401)
        self.assertEqual(self.hub.publish({"topic": "c"}, token=None,
                                          headers={**cookie, "Origin": "https://evil.example.com"})[0], 401)
        self.assertEqual(self.hub.publish({"topic": "c"}, token=None,
                                          headers={**cookie, "Origin": "https://app.example.com"})[0], 200)
        self.assertEqual(self.hub.publish({"topic": "c"}, token=None,
                                          headers={**cookie, "Referer": "https://app.example.com/page?x"})[0], 200)

    def test_tokens_never_reach_the_logs(self):
        self.hub.publish({"topic": "x"}, token=mercure_token(publish=[]))
        self.hub.publish({"topic": "x", "data": "very-secret-payload"})
        self.assertHubStillServes()
        logs = self.hub.logs()
        self.assertNotIn(PUBLISHER, logs)
        self.assertNotIn(PUBLISHER.split(".")[2], logs)
        self.assertNotIn("very-secret-payload", logs)


class Anonymous(HubTestCase):
    hub_options = {"allow_anonymous": True}

    def test_anonymous_subscriber_but_invalid_token_is_401(self):
        with self.hub.subscribe(["x"]) as s:
            self.assertEqual(s.status, 200)
        with self.hub.subscribe(["x"], token=mercure_token(subscribe=["*"], key="other key other key")) as s:
            self.assertEqual(s.status, 401)
        with self.hub.subscribe(["x"], headers={"Cookie": "mercureAuthorization=stale.cookie.value"}) as s:
            self.assertEqual(s.status, 401)

    def test_publisher_always_needs_a_token(self):
        self.assertEqual(self.hub.publish({"topic": "x"}, token=None)[0], 401)


class NamespacedClaim(HubTestCase):
    def test_namespaced_claim_replaces_mercure(self):
        token = hs_token({"mercure": {"publish": []}, "https://mercure.rocks/": {"publish": ["*"]}})
        self.assertEqual(self.hub.publish({"topic": "x"}, token=token)[0], 200)


class Jwks(unittest.TestCase):
    def test_keys_from_a_jwk_set_file_chosen_by_kid(self):
        private, public = KEYS["ES256"]
        # The JWK of the public key, computed with openssl's text output.
        text = subprocess.run(["openssl", "pkey", "-pubin", "-in", public, "-text", "-noout"], check=True,
                              capture_output=True, text=True).stdout
        hexdump = "".join(l.strip() for l in text.split("pub:")[1].split("ASN1")[0].splitlines()).replace(":", "")
        point = bytes.fromhex(hexdump)
        jwk = {"kty": "EC", "crv": "P-256", "kid": "k1", "x": b64url(point[1:33]), "y": b64url(point[33:65])}
        path = os.path.join(TMP, "jwks.json")
        with open(path, "w") as f:
            json.dump({"keys": [jwk]}, f)
        with Hub(jwt_key=None, publisher_jwks_url="file://" + path, subscriber_jwks_url="file://" + path) as hub:
            good = herald_token(private, "ES256", publish=["*"], kid="k1")
            wrong_kid = herald_token(private, "ES256", publish=["*"], kid="k2")
            self.assertEqual(hub.publish({"topic": "j"}, token=good)[0], 200)
            self.assertEqual(hub.publish({"topic": "j"}, token=wrong_kid)[0], 401)

    def test_unreadable_jwks_is_a_config_error(self):
        r = subprocess.run([HERALD_BIN, "run", "--addr", "127.0.0.1:0", "--publisher-jwks-url", "file:///nonexistent"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("publisher_jwks_url", r.stderr)


if __name__ == "__main__":
    unittest.main()


class JwksOverHttp(unittest.TestCase):
    def test_jwks_is_fetched_over_http_and_refreshed(self):
        import http.server
        import threading
        jwks = {"keys": [{"kty": "oct", "kid": "first", "alg": "HS256", "k": b64url(b"first-secret-first-secret")}]}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps(jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
        try:
            with Hub(jwt_key=None, publisher_jwks_url=url, jwks_refresh_interval="300ms") as hub:
                first = hs_token({"mercure": {"publish": ["*"]}}, key="first-secret-first-secret",
                                 header={"alg": "HS256", "kid": "first"})
                second = hs_token({"mercure": {"publish": ["*"]}}, key="second-secret-second-secret",
                                  header={"alg": "HS256", "kid": "second"})
                self.assertEqual(hub.publish({"topic": "j"}, token=first)[0], 200)
                self.assertEqual(hub.publish({"topic": "j"}, token=second)[0], 401)
                jwks["keys"] = [{"kty": "oct", "kid": "second", "alg": "HS256",
                                 "k": b64url(b"second-secret-second-secret")}]
                deadline = time.monotonic() + 10
                while hub.publish({"topic": "j"}, token=second)[0] != 200:
                    self.assertLess(time.monotonic(), deadline, "the rotated key was never picked up")
                    time.sleep(0.1)  # the refresh runs on its own timer; poll the observable outcome
                self.assertEqual(hub.publish({"topic": "j"}, token=first)[0], 401)
        finally:
            server.shutdown()
