#include <gtest/gtest.h>

#include "core/duration.hpp"

namespace herald {
namespace {
using namespace std::chrono_literals;

TEST(Duration, ParsesGoDurations) {
  EXPECT_EQ(parse_duration("40s"), Duration(40s));
  EXPECT_EQ(parse_duration("1m30s"), Duration(90s));
  EXPECT_EQ(parse_duration("250ms"), Duration(250ms));
  EXPECT_EQ(parse_duration("1.5h"), Duration(90min));
  EXPECT_EQ(parse_duration("0"), Duration::zero());
  EXPECT_EQ(parse_duration("0s"), Duration::zero());
  EXPECT_EQ(parse_duration("15"), Duration(15s));
  EXPECT_EQ(parse_duration("10us"), Duration(10us));
}

TEST(Duration, RejectsMalformedInput) {
  for (const char* bad : {"", "s", "-5s", "5x", "5 s", "1..5s", "abc", "99999999999999h", "."})
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
}

TEST(Duration, FormatsLikeGo) {
  EXPECT_EQ(format_duration(90s), "1m30s");
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(Duration::zero()), "0s");
}
}  // namespace
}  // namespace herald
