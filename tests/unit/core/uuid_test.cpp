#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "core/uuid.hpp"

namespace herald {
namespace {
TEST(Uuid, V4HasVersionAndVariant) {
  std::regex re("^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(std::regex_match(make_urn_uuid_v4(), re));
}

TEST(Uuid, V7IsTimeOrderedAndUnique) {
  std::regex re("^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  std::string previous_ms;
  for (int i = 0; i < 1000; ++i) {
    auto id = make_urn_uuid_v7();
    ASSERT_TRUE(std::regex_match(id, re)) << id;
    EXPECT_TRUE(seen.insert(id).second);
    std::string ms = id.substr(9, 13);  // 48-bit timestamp, hex
    EXPECT_GE(ms, previous_ms);
    previous_ms = ms;
  }
}
}  // namespace
}  // namespace herald
