#include <gtest/gtest.h>

#include "auth/claims.hpp"

namespace herald {
namespace {
Result<MercureClaims> extract(const char* json) {
  return extract_mercure_claims(nlohmann::json::parse(json), nullptr);
}

TEST(Claims, NamespacedClaimReplacesMercure) {
  auto c = extract(R"({"mercure":{"publish":["a"]},"https://mercure.rocks/":{"publish":["b"],"subscribe":["c"]}})");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c->publish, std::vector<std::string>{"b"});
  EXPECT_EQ(*c->subscribe, std::vector<std::string>{"c"});
}

TEST(Claims, AbsentOrNullListsStayUnset) {
  auto c = extract(R"({"mercure":{"publish":null}})");
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->publish.has_value());
  EXPECT_FALSE(c->subscribe.has_value());
  auto none = extract(R"({"sub":"x"})");
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->publish.has_value());
  auto empty = extract(R"({"mercure":{"publish":[]}})");
  ASSERT_TRUE(empty.has_value());
  ASSERT_TRUE(empty->publish.has_value());
  EXPECT_TRUE(empty->publish->empty());
}

TEST(Claims, WrongTypesAreUnauthorized) {
  for (const char* bad : {R"({"mercure":"x"})", R"({"mercure":{"publish":"*"}})", R"({"mercure":{"publish":[1]}})",
                          R"({"mercure":{"subscribe":{"a":1}}})", R"({"mercure":[]})"}) {
    auto c = extract(bad);
    ASSERT_FALSE(c.has_value()) << bad;
    EXPECT_EQ(c.error(), make_error_code(Errc::unauthorized));
  }
}

TEST(Claims, MoreThanAThousandSelectorsAreUnauthorized) {
  nlohmann::json claims;
  claims["mercure"]["subscribe"] = std::vector<std::string>(1001, "t");
  EXPECT_FALSE(extract_mercure_claims(claims, nullptr).has_value());
  claims["mercure"]["subscribe"] = std::vector<std::string>(1000, "t");
  EXPECT_TRUE(extract_mercure_claims(claims, nullptr).has_value());
}

TEST(Claims, PayloadIsKeptAsJson) {
  auto c = extract(R"({"mercure":{"payload":{"user":"https://example.com/users/dunglas","n":[1,2]}}})");
  ASSERT_TRUE(c.has_value());
  ASSERT_TRUE(c->payload.has_value());
  EXPECT_EQ((*c->payload)["n"][1], 2);
}
}  // namespace
}  // namespace herald
