#pragma once
// RFC 6570 URI templates as topic selectors, with the reference hub's matching semantics:
// every expression is optional, `{var}` matches unreserved characters, `,` and %XX (no `/`),
// `{+var}`/`{#var}` also reserved characters, `{/var}` `{.var}` `{;var}` `{?var}` `{&var}`
// match their prefix and separators. Matching runs over sets of positions (no backtracking,
// no recursion), so a long topic cannot blow the stack or take exponential time.
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald {

class UriTemplate {
 public:
  /// Parses `text`; nullopt when it is not a valid template (the caller then compares raw strings).
  static std::optional<UriTemplate> parse(std::string_view text);

  /// True if the whole of `topic` matches the template.
  bool matches(std::string_view topic) const;

 private:
  struct Part {
    bool literal = true;
    std::string text;            ///< literal text
    std::string first;           ///< expression prefix ("", "#", ".", "/", ";", "?", "&")
    std::string sep;             ///< separator between values
    std::array<bool, 256> allow{};  ///< allowed unencoded bytes
    int max_repeat = 0;          ///< extra separated values allowed; -1 = unbounded
  };
  std::vector<Part> parts_;
};

}  // namespace herald
