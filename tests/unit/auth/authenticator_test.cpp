#include <gtest/gtest.h>

#include "auth/authenticator.hpp"
#include "auth/jwt_test_keys.hpp"

namespace herald {
namespace {
const std::string kClaims = R"({"mercure":{"publish":["*"]}})";

Config config_with_key(const std::string& key) {
  Config c;
  c.publisher.key = c.subscriber.key = key;
  c.publisher.algorithm = c.subscriber.algorithm = "HS256";
  return c;
}

AuthResult publish_with(const Authenticator& auth, const std::string& token) {
  std::string header = "Bearer " + token;
  TokenSources sources;
  sources.authorization_headers = {header};
  return auth.authenticate(Role::publisher, sources, true, {}, {}, nullptr);
}

TEST(Authenticator, RepeatedTokenIsAcceptedAndRotatedKeysAreHonoured) {
  Config c = config_with_key("first-secret-first-secret");
  Authenticator auth(c);
  auto token = test::sign_token(R"({"alg":"HS256"})", kClaims, "HS256", "first-secret-first-secret");
  for (int i = 0; i < 3; ++i) {
    auto r = publish_with(auth, token);
    ASSERT_TRUE(r.has_value());
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ(*(*r)->publish, std::vector<std::string>{"*"});
  }
  // Keys replaced (a JWK Set refresh): the cached verification no longer counts.
  std::string why;
  auth.keys(Role::publisher).replace({*JwtKey::from_config("second-secret-second", JwtAlg::HS256, &why)});
  EXPECT_FALSE(publish_with(auth, token).has_value());
}

TEST(Authenticator, ExpiredTokenIsRejectedEvenAfterItWasAccepted) {
  Config c = config_with_key("exp-secret-exp-secret");
  Authenticator auth(c);
  auto past = test::sign_token(R"({"alg":"HS256"})", R"({"exp":1000,"mercure":{"publish":["*"]}})", "HS256",
                               "exp-secret-exp-secret");
  EXPECT_FALSE(publish_with(auth, past).has_value());
  EXPECT_FALSE(publish_with(auth, past).has_value());
}

TEST(Authenticator, CookieOnAPostNeedsAnAllowedOrigin) {
  Config c = config_with_key("cookie-secret-cookie");
  c.publish_allowed_origins = {"https://app.example.com"};
  Authenticator auth(c);
  auto token = test::sign_token(R"({"alg":"HS256"})", kClaims, "HS256", "cookie-secret-cookie");
  std::string cookie = "mercureAuthorization=" + token;
  TokenSources sources;
  sources.cookie_headers = {cookie};
  EXPECT_FALSE(auth.authenticate(Role::publisher, sources, true, "https://evil.example.com", {}, nullptr));
  EXPECT_FALSE(auth.authenticate(Role::publisher, sources, true, {}, {}, nullptr));
  EXPECT_TRUE(auth.authenticate(Role::publisher, sources, true, "https://app.example.com", {}, nullptr));
  EXPECT_TRUE(auth.authenticate(Role::publisher, sources, false, {}, {}, nullptr));  // GET: no origin check
}
}  // namespace
}  // namespace herald
