#include "hub/topic_selector.hpp"

namespace herald {

bool is_exact_selector(std::string_view selector) {
  return selector != "*" && selector.find('{') == std::string_view::npos;
}

bool TopicMatcher::match(std::string_view selector, std::string_view topic) {
  if (selector == "*" || selector == topic) return true;
  if (selector.find('{') == std::string_view::npos) return false;
  auto it = templates_.find(selector);
  if (it == templates_.end()) {
    if (cache_size_ > 0 && templates_.size() >= cache_size_ / 10 + 1) {
      templates_.clear();
      results_ = 0;
    }
    Entry e;
    e.tpl = UriTemplate::parse(selector);
    it = templates_.emplace(std::string(selector), std::move(e)).first;
  }
  Entry& e = it->second;
  if (!e.tpl) return false;  // raw string, and not equal
  if (auto r = e.results.find(topic); r != e.results.end()) return r->second;
  bool matched = e.tpl->matches(topic);
  if (cache_size_ > 0) {
    if (results_ >= cache_size_) {
      for (auto& [_, entry] : templates_) entry.results.clear();
      results_ = 0;
    }
    e.results.emplace(std::string(topic), matched);
    ++results_;
  }
  return matched;
}

bool TopicMatcher::match_any(const std::vector<std::string>& selectors, const std::vector<std::string>& topics) {
  for (const auto& t : topics)
    for (const auto& s : selectors)
      if (match(s, t)) return true;
  return false;
}

}  // namespace herald
