#include <gtest/gtest.h>

#include "hub/topic_selector.hpp"

namespace herald {
namespace {
struct Case {
  const char* selector;
  const char* topic;
  bool match;
};

class SelectorCases : public ::testing::TestWithParam<Case> {};

TEST_P(SelectorCases, MatchesLikeTheReferenceHub) {
  TopicMatcher m;
  const Case& c = GetParam();
  EXPECT_EQ(m.match(c.selector, c.topic), c.match) << c.selector << " vs " << c.topic;
  EXPECT_EQ(m.match(c.selector, c.topic), c.match) << "cached result differs";
  TopicMatcher uncached(0);
  EXPECT_EQ(uncached.match(c.selector, c.topic), c.match);
}

INSTANTIATE_TEST_SUITE_P(
    Topics, SelectorCases,
    ::testing::Values(
        Case{"*", "https://example.com/foo/bar", true}, Case{"*", "", true},
        Case{"https://example.com/foo/bar", "https://example.com/foo/bar", true},
        Case{"https://example.com/foo/bar", "https://example.com/foo/baz", false},
        Case{"https://example.com/{foo}/bar", "https://example.com/foo/bar", true},
        Case{"https://example.com/{foo}/baz", "https://example.com/foo/bar", false},
        Case{"https://example.com/{foo}", "https://example.com/foo/bar", false},  // {var} stops at '/'
        Case{"https://example.com/{+foo}", "https://example.com/foo/bar", true},
        Case{"https://example.com/books/{id}", "https://example.com/books/", true},  // expressions are optional
        Case{"https://example.com/books/{id}", "https://example.com/books/1", true},
        Case{"https://example.com/books/{id}", "https://example.com/books/1,2", true},
        Case{"https://example.com/books/{id}", "https://example.com/books/a%20b", true},
        Case{"https://example.com/books/{id}", "https://example.com/books/a b", false},
        Case{"https://example.com/books/{id}", "https://example.com/books/%C3%A9", true},
        Case{"https://example.com/books/{id}", "https://example.com/books/\xC3\xA9", false},
        Case{"https://example.com/books/{id}", "https://example.com/books/1?x", false},
        Case{"{scheme}://{+host}/demo/books/{id}.jsonld", "https://example.com/demo/books/1.jsonld", true},
        Case{"{scheme}://{+host}/demo/books/{id}.jsonld", "https://example.com/demo/books/1.json", false},
        Case{"https://example.com/{#frag}", "https://example.com/#a/b", true},
        Case{"https://example.com/x{/segs}", "https://example.com/x/a", true},
        Case{"https://example.com/x{/a,b}", "https://example.com/x/a/b", true},
        Case{"https://example.com/x{/a,b}", "https://example.com/x/a/b/c", false},  // at most 2 values
        Case{"https://example.com/x{/a*}", "https://example.com/x/a/b/c", true},    // exploded: unbounded
        Case{"https://example.com/x{.ext}", "https://example.com/x.json", true},
        Case{"https://example.com/x{;p}", "https://example.com/x;p=1", true},
        Case{"https://example.com/users/foo/{?topic}",
             "https://example.com/users/foo/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1", true},
        Case{"https://example.com/users/foo/{?topic}", "https://example.com/users/foo/?topic=a/b", false},
        Case{"https://example.com/q?a=1{&b}", "https://example.com/q?a=1&b=2", true},
        Case{"/.well-known/mercure/subscriptions{/topic}{/subscriber}",
             "/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2Fa/urn%3Auuid%3A1234", true},
        Case{"/.well-known/mercure/subscriptions/ABCD{/subscriber}",
             "/.well-known/mercure/subscriptions/EFGH/urn%3Auuid%3A1234", false},
        // A template matches itself by equality; invalid templates are raw strings.
        Case{"https://example.com/{id}", "https://example.com/{id}", true},
        Case{"https://example.com/{id", "https://example.com/{id", true},
        Case{"https://example.com/{id", "https://example.com/1", false},
        Case{"https://example.com/{=id}", "https://example.com/1", false},
        Case{"https://example.com/{i d}", "https://example.com/1", false},
        Case{"https://example.com/'{id}", "https://example.com/'1", false},
        Case{"https://example.com/{id:3}", "https://example.com/12345", true}));

TEST(TopicSelector, LongTopicsDoNotExhaustTheStack) {
  TopicMatcher m;
  std::string topic = "https://example.com/" + std::string(200000, 'a');
  EXPECT_TRUE(m.match("https://example.com/{id}", topic));
  EXPECT_TRUE(m.match("{+all}", topic + "/x"));
  EXPECT_FALSE(m.match("https://example.com/{id}/x", topic));
}

TEST(TopicSelector, CacheIsBounded) {
  TopicMatcher m(100);
  for (int i = 0; i < 1000; ++i) m.match("https://example.com/{id}", "https://example.com/" + std::to_string(i));
  EXPECT_LE(m.cached_results(), 100u);
}

TEST(TopicSelector, ExactSelectorsAreRecognised) {
  EXPECT_TRUE(is_exact_selector("https://example.com/a"));
  EXPECT_FALSE(is_exact_selector("*"));
  EXPECT_FALSE(is_exact_selector("https://example.com/{id}"));
}
}  // namespace
}  // namespace herald
