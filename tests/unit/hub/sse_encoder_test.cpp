#include <gtest/gtest.h>

#include "hub/sse_encoder.hpp"

namespace herald {
namespace {
Update make(std::string data, std::string id = "id1", std::string type = "", std::uint64_t retry = 0) {
  Update u;
  u.id = std::move(id);
  u.data = std::move(data);
  u.type = std::move(type);
  u.retry = retry;
  return u;
}

TEST(SseEncoder, MinimalEvent) { EXPECT_EQ(encode_sse(make("hello")), "id: id1\ndata: hello\n\n"); }

TEST(SseEncoder, TypeAndRetryComeFirst) {
  EXPECT_EQ(encode_sse(make("x", "a", "ping", 1500)), "event: ping\nretry: 1500\nid: a\ndata: x\n\n");
}

TEST(SseEncoder, EveryLineBreakStartsADataLine) {
  EXPECT_EQ(encode_sse(make("a\nb\r\nc\rd")), "id: id1\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
}

TEST(SseEncoder, EmptyDataAndTrailingNewlines) {
  EXPECT_EQ(encode_sse(make("")), "id: id1\ndata: \n\n");
  EXPECT_EQ(encode_sse(make("a\n")), "id: id1\ndata: a\ndata: \n\n");
  EXPECT_EQ(encode_sse(make("\n\n")), "id: id1\ndata: \ndata: \ndata: \n\n");
  EXPECT_EQ(encode_sse(make("a\r\n")), "id: id1\ndata: a\ndata: \n\n");
}
}  // namespace
}  // namespace herald
