#include <chrono>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "auth/base64url.hpp"
#include "auth/claims.hpp"
#include "auth/jwt_test_keys.hpp"

namespace herald {
namespace {
using test::sign_token;

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

const std::string kClaims = R"({"mercure":{"publish":["*"],"subscribe":["https://example.com/{id}"],"payload":{"user":"u1"}}})";
const std::string kSecret = "!ChangeThisMercureHubJWTSecretKey!";

KeySet key_set(const std::string& key, const std::string& alg) {
  std::string why;
  auto k = JwtKey::from_config(key, *parse_jwt_alg(alg), &why);
  EXPECT_TRUE(k.has_value()) << why;
  return KeySet({*k});
}

std::string header(const std::string& alg) { return R"({"alg":")" + alg + R"(","typ":"JWT"})"; }

struct AlgCase {
  std::string alg;
  std::string private_key;
  std::string public_key;
};

class EveryAlgorithm : public ::testing::TestWithParam<std::string> {
 protected:
  AlgCase make() const {
    const std::string& alg = GetParam();
    if (alg[0] == 'H') return {alg, kSecret, kSecret};
    if (alg[0] == 'R' || alg[0] == 'P') return {alg, test::rsa_key().private_pem, test::rsa_key().public_pem};
    if (alg == "ES256") return {alg, test::ec_key(256).private_pem, test::ec_key(256).public_pem};
    if (alg == "ES384") return {alg, test::ec_key(384).private_pem, test::ec_key(384).public_pem};
    if (alg == "ES512") return {alg, test::ec_key(521).private_pem, test::ec_key(521).public_pem};
    return {alg, test::ed25519_key().private_pem, test::ed25519_key().public_pem};
  }
};

TEST_P(EveryAlgorithm, ValidTokenYieldsMercureClaims) {
  auto c = make();
  auto keys = key_set(c.public_key, c.alg);
  std::string why;
  auto claims = verify_token(sign_token(header(c.alg), kClaims, c.alg, c.private_key), keys, now(), &why);
  ASSERT_TRUE(claims.has_value()) << why;
  ASSERT_TRUE(claims->publish.has_value());
  EXPECT_EQ(*claims->publish, std::vector<std::string>{"*"});
  EXPECT_EQ(*claims->subscribe, std::vector<std::string>{"https://example.com/{id}"});
  EXPECT_EQ((*claims->payload)["user"], "u1");
}

TEST_P(EveryAlgorithm, TamperedPayloadIsRejected) {
  auto c = make();
  auto keys = key_set(c.public_key, c.alg);
  auto token = sign_token(header(c.alg), kClaims, c.alg, c.private_key);
  auto d1 = token.find('.');
  auto d2 = token.find('.', d1 + 1);
  std::string forged = token.substr(0, d1 + 1) +
                       base64url_encode(R"({"mercure":{"publish":["*"],"subscribe":["*"]}})") + token.substr(d2);
  EXPECT_FALSE(verify_token(forged, keys, now(), nullptr).has_value());
}

TEST_P(EveryAlgorithm, TokenSignedByAnotherKeyIsRejected) {
  auto c = make();
  auto keys = key_set(c.public_key, c.alg);
  std::string other;
  if (c.alg[0] == 'H') other = "another secret";
  else if (c.alg[0] == 'R' || c.alg[0] == 'P') other = test::rsa_key_other().private_pem;
  else return;  // one EC/Ed key per curve in this suite; covered by the RSA and HMAC cases
  EXPECT_FALSE(verify_token(sign_token(header(c.alg), kClaims, c.alg, other), keys, now(), nullptr).has_value());
}

INSTANTIATE_TEST_SUITE_P(Jwt, EveryAlgorithm,
                         ::testing::Values("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384",
                                           "PS512", "ES256", "ES384", "ES512", "EdDSA"));

TEST(Jwt, AlgNoneIsRejected) {
  auto keys = key_set(kSecret, "HS256");
  std::string token = base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + base64url_encode(kClaims) + ".";
  EXPECT_FALSE(verify_token(token, keys, now(), nullptr).has_value());
  std::string token2 = base64url_encode(R"({"alg":"none"})") + "." + base64url_encode(kClaims) + ".c2ln";
  EXPECT_FALSE(verify_token(token2, keys, now(), nullptr).has_value());
}

TEST(Jwt, HmacTokenSignedWithThePublicKeyIsRejectedByAnRsaKey) {
  // The classic confusion attack: HS256 "signed" with the RSA public key as the secret.
  auto keys = key_set(test::rsa_key().public_pem, "RS256");
  auto token = sign_token(header("HS256"), kClaims, "HS256", test::rsa_key().public_pem);
  std::string why;
  EXPECT_FALSE(verify_token(token, keys, now(), &why).has_value());
  EXPECT_NE(why.find("alg"), std::string::npos);
}

TEST(Jwt, AlgorithmIsPinnedPerKey) {
  auto keys = key_set(kSecret, "HS256");
  EXPECT_FALSE(verify_token(sign_token(header("HS512"), kClaims, "HS512", kSecret), keys, now(), nullptr).has_value());
}

TEST(Jwt, KeyOfTheWrongTypeIsRefusedAtConfiguration) {
  std::string why;
  EXPECT_FALSE(JwtKey::from_config(test::ec_key(256).public_pem, JwtAlg::RS256, &why).has_value());
  EXPECT_FALSE(JwtKey::from_config(test::rsa_key().public_pem, JwtAlg::ES256, &why).has_value());
  EXPECT_FALSE(JwtKey::from_config(test::ec_key(384).public_pem, JwtAlg::ES256, &why).has_value());
  EXPECT_FALSE(JwtKey::from_config(test::rsa_key().public_pem, JwtAlg::EdDSA, &why).has_value());
  EXPECT_FALSE(JwtKey::from_config("not a pem", JwtAlg::RS256, &why).has_value());
  EXPECT_FALSE(JwtKey::from_config("", JwtAlg::HS256, &why).has_value());
}

TEST(Jwt, ExpiredTokenIsRejectedAndExpIsReported) {
  auto keys = key_set(kSecret, "HS256");
  auto t = now();
  auto expired = sign_token(header("HS256"), R"({"exp":)" + std::to_string(t - 1) + "}", "HS256", kSecret);
  EXPECT_FALSE(verify_token(expired, keys, t, nullptr).has_value());
  auto at_exp = sign_token(header("HS256"), R"({"exp":)" + std::to_string(t) + "}", "HS256", kSecret);
  EXPECT_FALSE(verify_token(at_exp, keys, t, nullptr).has_value());
  auto valid = sign_token(header("HS256"), R"({"exp":)" + std::to_string(t + 60) + "}", "HS256", kSecret);
  auto claims = verify_token(valid, keys, t, nullptr);
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(claims->exp, t + 60);
  EXPECT_FALSE(claims->publish.has_value());
}

TEST(Jwt, NotBeforeIsEnforced) {
  auto keys = key_set(kSecret, "HS256");
  auto t = now();
  auto early = sign_token(header("HS256"), R"({"nbf":)" + std::to_string(t + 30) + "}", "HS256", kSecret);
  EXPECT_FALSE(verify_token(early, keys, t, nullptr).has_value());
  EXPECT_TRUE(verify_token(early, keys, t + 30, nullptr).has_value());
}

TEST(Jwt, MalformedTokensAreRejected) {
  auto keys = key_set(kSecret, "HS256");
  auto good = sign_token(header("HS256"), kClaims, "HS256", kSecret);
  const std::vector<std::string> bad = {
      "", ".", "..", "...", "a.b", "a.b.c.d", "!!!.???.***", good + "x", good.substr(1),
      base64url_encode("[]") + "." + base64url_encode("{}") + ".",
      base64url_encode(R"({"alg":5})") + "." + base64url_encode("{}") + ".",
      base64url_encode(R"({"alg":"HS256","crit":["x"]})") + "." + base64url_encode("{}") + ".",
      sign_token(header("HS256"), "not json", "HS256", kSecret),
      sign_token(header("HS256"), "[1,2]", "HS256", kSecret),
      sign_token(header("HS256"), R"({"exp":"tomorrow"})", "HS256", kSecret),
      sign_token(header("HS256"), R"({"exp":1e300})", "HS256", kSecret),
      std::string(70000, 'a'),
  };
  for (const auto& t : bad) EXPECT_FALSE(verify_token(t, keys, now(), nullptr).has_value()) << t.substr(0, 60);
}

TEST(Jwt, JwksKeysAreChosenByKid) {
  auto& ec = test::ec_key(256);
  // Build a JWK Set from the public keys via a signed round trip: an "oct" key and an EC key.
  std::string oct = base64url_encode("jwks secret");
  std::string doc = R"({"keys":[{"kty":"oct","kid":"k1","alg":"HS256","k":")" + oct + R"("},)" +
                    R"({"kty":"RSA","kid":"bad","n":"!!","e":"AQAB"}]})";
  std::string why;
  auto keys = parse_jwks(doc, JwtAlg::RS256, &why);
  ASSERT_TRUE(keys.has_value()) << why;
  ASSERT_EQ(keys->size(), 1u);
  KeySet set(*keys);
  auto with_kid = sign_token(R"({"alg":"HS256","kid":"k1"})", kClaims, "HS256", "jwks secret");
  EXPECT_TRUE(verify_token(with_kid, set, now(), nullptr).has_value());
  auto wrong_kid = sign_token(R"({"alg":"HS256","kid":"k2"})", kClaims, "HS256", "jwks secret");
  EXPECT_FALSE(verify_token(wrong_kid, set, now(), nullptr).has_value());
  EXPECT_FALSE(parse_jwks("{}", JwtAlg::RS256, &why).has_value());
  EXPECT_FALSE(parse_jwks("not json", JwtAlg::RS256, &why).has_value());
  (void)ec;
}

TEST(Jwt, JwkAlgMustMatchItsKeyType) {
  std::string why;
  nlohmann::json oct_as_rs = {{"kty", "oct"}, {"alg", "RS256"}, {"k", base64url_encode("s")}};
  EXPECT_FALSE(JwtKey::from_jwk(oct_as_rs, JwtAlg::RS256, &why).has_value());
}

}  // namespace
}  // namespace herald

namespace herald {
namespace {
TEST(Jwt, JwksWithRsaEcAndEdKeysVerifiesEachByKid) {
  std::string doc = std::string(R"({"keys":[)") + test::public_jwk(test::rsa_key().public_pem, "rsa") + "," +
                    test::public_jwk(test::ec_key(384).public_pem, "ec") + "," +
                    test::public_jwk(test::ed25519_key().public_pem, "ed") + "]}";
  std::string why;
  auto keys = parse_jwks(doc, JwtAlg::RS256, &why);
  ASSERT_TRUE(keys.has_value()) << why;
  ASSERT_EQ(keys->size(), 3u);
  KeySet set(*keys);
  auto t = now();
  EXPECT_TRUE(verify_token(sign_token(R"({"alg":"RS256","kid":"rsa"})", kClaims, "RS256", test::rsa_key().private_pem),
                           set, t, &why).has_value()) << why;
  EXPECT_TRUE(verify_token(sign_token(R"({"alg":"ES384","kid":"ec"})", kClaims, "ES384", test::ec_key(384).private_pem),
                           set, t, &why).has_value()) << why;
  EXPECT_TRUE(verify_token(sign_token(R"({"alg":"EdDSA","kid":"ed"})", kClaims, "EdDSA", test::ed25519_key().private_pem),
                           set, t, &why).has_value()) << why;
  // The RSA key does not verify an RS256 token from another key, even with the right kid.
  EXPECT_FALSE(verify_token(sign_token(R"({"alg":"RS256","kid":"rsa"})", kClaims, "RS256",
                                       test::rsa_key_other().private_pem), set, t, nullptr).has_value());
  // An RSA JWK without "alg" is pinned to the configured algorithm, not the token's.
  EXPECT_FALSE(verify_token(sign_token(R"({"alg":"PS256","kid":"rsa"})", kClaims, "PS256", test::rsa_key().private_pem),
                            set, t, nullptr).has_value());
}
}  // namespace
}  // namespace herald
