#include <gtest/gtest.h>

#include "auth/token_source.hpp"

namespace herald {
namespace {
const std::string kToken(60, 'x');

TEST(TokenSource, HeaderComesFirstThenQueryThenCookie) {
  std::string header = "Bearer " + kToken;
  std::string cookie = "a=b; mercureAuthorization=" + std::string(50, 'c');
  TokenSources s;
  s.authorization_headers = {header};
  s.authorization_params = {std::string(45, 'q')};
  s.cookie_headers = {cookie};
  auto t = find_token(s, "mercureAuthorization", true);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->origin, TokenOrigin::header);
  EXPECT_EQ(t->token, kToken);
  s.authorization_headers.clear();
  t = find_token(s, "mercureAuthorization", true);
  EXPECT_EQ(t->origin, TokenOrigin::query);
  t = find_token(s, "mercureAuthorization", false);  // protocol 7: no query parameter
  EXPECT_EQ(t->origin, TokenOrigin::cookie);
  EXPECT_EQ(t->token, std::string(50, 'c'));
  s.authorization_params.clear();
  t = find_token(s, "other", true);
  EXPECT_EQ(t->origin, TokenOrigin::none);
}

TEST(TokenSource, MalformedHigherSourceIsAnErrorEvenWithAValidCookie) {
  std::string cookie = "mercureAuthorization=" + kToken;
  TokenSources s;
  s.cookie_headers = {cookie};
  std::string short_header = "Bearer abc";
  s.authorization_headers = {short_header};
  EXPECT_FALSE(find_token(s, "mercureAuthorization", true).has_value());
  std::string basic = "Basic " + kToken;
  s.authorization_headers = {basic};
  EXPECT_FALSE(find_token(s, "mercureAuthorization", true).has_value());
  std::string lower = "bearer " + kToken;
  s.authorization_headers = {lower};
  EXPECT_FALSE(find_token(s, "mercureAuthorization", true).has_value());
  std::string h = "Bearer " + kToken;
  s.authorization_headers = {h, h};
  EXPECT_FALSE(find_token(s, "mercureAuthorization", true).has_value());
  s.authorization_headers.clear();
  s.authorization_params = {"short"};
  EXPECT_FALSE(find_token(s, "mercureAuthorization", true).has_value());
}

TEST(TokenSource, CookieValueParsing) {
  EXPECT_EQ(cookie_value("a=1; b=2;c=3", "b"), "2");
  EXPECT_EQ(cookie_value("a=1; b=\"quoted\"", "b"), "quoted");
  EXPECT_EQ(cookie_value("ab=1", "b"), "");
  EXPECT_EQ(cookie_value("novalue; b=2", "b"), "2");
  EXPECT_EQ(cookie_value("", "b"), "");
}

TEST(TokenSource, OriginsAllowExactStarAndOneWildcard) {
  std::vector<std::string> allowed = {"https://example.com", "https://*.example.org"};
  EXPECT_TRUE(origin_allowed(allowed, "https://example.com"));
  EXPECT_TRUE(origin_allowed(allowed, "HTTPS://EXAMPLE.COM"));
  EXPECT_TRUE(origin_allowed(allowed, "https://a.example.org"));
  EXPECT_FALSE(origin_allowed(allowed, "https://example.org.evil.com"));
  EXPECT_FALSE(origin_allowed(allowed, "http://example.com"));
  EXPECT_FALSE(origin_allowed(allowed, ""));
  EXPECT_TRUE(origin_allowed({"*"}, "https://anything"));
  EXPECT_EQ(referer_origin("https://example.com:8443/page?x=1"), "https://example.com:8443");
  EXPECT_EQ(referer_origin("not a url"), "");
}
}  // namespace
}  // namespace herald
