// Fuzzes topic selectors and URI templates: the input is "selector\ntopic". Parsing and
// matching never crash, a cached answer equals a fresh one, and a template that parses
// matches at least what it matched before caching.
#include <cstdint>
#include <cstdlib>

#include "hub/topic_selector.hpp"
#include "hub/uri_template.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace herald;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nl = in.find('\n');
  std::string_view selector = in.substr(0, nl);
  std::string_view topic = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  static TopicMatcher cached(1000);
  TopicMatcher fresh(0);
  bool a = fresh.match(selector, topic);
  bool b = cached.match(selector, topic);
  bool c = cached.match(selector, topic);
  if (a != b || b != c) std::abort();
  if (selector == topic && !a) std::abort();  // a selector always matches itself as a topic
  if (auto t = UriTemplate::parse(selector)) (void)t->matches(topic);
  return 0;
}
