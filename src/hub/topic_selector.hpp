#pragma once
// Topic selector matching (reference semantics): `*` matches everything, a byte-equal
// string matches, and a selector containing `{` that parses as an RFC 6570 template
// matches the topics its expansion can produce. An invalid template is a raw string.
//
// TopicMatcher caches parsed templates and match results so a hot topic is not
// re-matched per subscriber per update. It is not thread-safe: each shard owns one.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hub/uri_template.hpp"

namespace herald {

/// True if `selector` is matched by string equality only (no `*`, no template).
bool is_exact_selector(std::string_view selector);

class TopicMatcher {
 public:
  /// `cache_size`: maximum cached (selector, topic) results; 0 disables caching.
  explicit TopicMatcher(std::size_t cache_size = 100000) : cache_size_(cache_size) {}

  bool match(std::string_view selector, std::string_view topic);

  /// True if some topic matches some selector.
  bool match_any(const std::vector<std::string>& selectors, const std::vector<std::string>& topics);

  std::size_t cached_results() const { return results_; }

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct Entry {
    std::optional<UriTemplate> tpl;  ///< nullopt: invalid template, compare as a raw string
    std::unordered_map<std::string, bool, StringHash, std::equal_to<>> results;
  };
  std::size_t cache_size_;
  std::size_t results_ = 0;
  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> templates_;
};

}  // namespace herald
