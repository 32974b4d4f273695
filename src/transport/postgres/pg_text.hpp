#pragma once
// Text helpers of the PostgreSQL transport: array literals for parameters, and the check that
// a string is something a text column takes (valid UTF-8 without NUL).
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald::pg_text {

/// Statement parameters, built outside the caller's expression: g++ 12 rejects an
/// initializer list inside a co_await expression ("array used as initializer").
template <class... A>
std::vector<std::string> params(A&&... a) {
  std::vector<std::string> v;
  v.reserve(sizeof...(a));
  (v.emplace_back(std::forward<A>(a)), ...);
  return v;
}

/// True when PostgreSQL's text type (UTF-8 database) accepts `s`.
bool storable(std::string_view s);

/// Builds a one-dimensional array literal ({"a","b"}, {t,f}, {1,2}) element by element.
class ArrayLiteral {
 public:
  void add(std::string_view text);  ///< quoted, with '"' and '\' escaped
  void add(bool b) { raw(b ? "t" : "f"); }
  void add(std::uint64_t n) { raw(std::to_string(n)); }
  std::string str() const { return "{" + out_ + "}"; }

 private:
  void raw(const std::string& s) {
    if (!out_.empty()) out_ += ',';
    out_ += s;
  }
  std::string out_;
};

}  // namespace herald::pg_text
