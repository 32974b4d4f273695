#include "hub/uri_template.hpp"

#include <cstring>

namespace herald {
namespace {
bool is_hex(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_varchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_literal(unsigned char c) {
  if (c >= 0x80) return true;  // ucschar / iprivate (UTF-8 bytes)
  if (c == '!' || c == '#' || c == '$' || c == '&' || c == '=' || c == ']' || c == '_' || c == '~') return true;
  if (c >= '(' && c <= ';') return true;
  if (c >= '?' && c <= '[') return true;
  if (c >= 'a' && c <= 'z') return true;
  return false;
}
constexpr const char* kUnreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
constexpr const char* kReserved = ":/?#[]@!$&'()*+,;=";

/// Marks in `out` every position reachable from a position in `in` by consuming zero or more
/// tokens of the class (an allowed byte or %XX).
void run_class(std::string_view s, const std::array<bool, 256>& allow, const std::vector<char>& in,
               std::vector<char>& out) {
  std::size_t n = s.size();
  std::size_t covered = 0;  // positions < covered were already extended
  for (std::size_t p = 0; p <= n; ++p) {
    if (!in[p]) continue;
    std::size_t q = p;
    out[q] = 1;
    if (q < covered) continue;  // the run from an earlier start already went past here
    while (q < n) {
      auto c = static_cast<unsigned char>(s[q]);
      if (allow[c]) q += 1;
      else if (c == '%' && q + 2 < n && is_hex(s[q + 1]) && is_hex(s[q + 2])) q += 3;
      else break;
      out[q] = 1;
    }
    covered = q;
  }
}

void step_literal(std::string_view s, std::string_view lit, const std::vector<char>& in, std::vector<char>& out) {
  for (std::size_t p = 0; p + lit.size() <= s.size(); ++p)
    if (in[p] && s.compare(p, lit.size(), lit) == 0) out[p + lit.size()] = 1;
}
}  // namespace

std::optional<UriTemplate> UriTemplate::parse(std::string_view t) {
  UriTemplate tpl;
  std::size_t i = 0;
  while (i < t.size()) {
    if (t[i] != '{') {
      Part lit;
      while (i < t.size() && t[i] != '{') {
        auto c = static_cast<unsigned char>(t[i]);
        if (c == '%') {
          if (i + 2 >= t.size() || !is_hex(t[i + 1]) || !is_hex(t[i + 2])) return std::nullopt;
          lit.text.append(t.substr(i, 3));
          i += 3;
          continue;
        }
        if (!is_literal(c)) return std::nullopt;
        lit.text.push_back(static_cast<char>(c));
        ++i;
      }
      tpl.parts_.push_back(std::move(lit));
      continue;
    }
    ++i;  // '{'
    if (i >= t.size()) return std::nullopt;
    Part e;
    e.literal = false;
    char op = t[i];
    bool named = false, reserved = false;
    switch (op) {
      case '+': reserved = true; e.sep = ","; ++i; break;
      case '#': reserved = true; e.first = "#"; e.sep = ","; ++i; break;
      case '.': e.first = "."; e.sep = "."; ++i; break;
      case '/': e.first = "/"; e.sep = "/"; ++i; break;
      case ';': e.first = ";"; e.sep = ";"; named = true; ++i; break;
      case '?': e.first = "?"; e.sep = "&"; named = true; ++i; break;
      case '&': e.first = "&"; e.sep = "&"; named = true; ++i; break;
      case '=': case ',': case '!': case '@': case '|': return std::nullopt;
      default: e.sep = ","; break;
    }
    int vars = 0;
    bool explode_any = false, first_explode = false;
    for (;;) {
      std::size_t start = i;
      while (i < t.size()) {
        if (is_varchar(static_cast<unsigned char>(t[i]))) { ++i; continue; }
        if (t[i] == '%' && i + 2 < t.size() && is_hex(t[i + 1]) && is_hex(t[i + 2])) { i += 3; continue; }
        break;
      }
      if (i >= t.size()) return std::nullopt;
      (void)start;
      bool explode = false;
      if (t[i] == ':') {
        ++i;
        if (i >= t.size() || t[i] < '1' || t[i] > '9') return std::nullopt;
        int len = 0;
        while (i < t.size() && t[i] >= '0' && t[i] <= '9' && len < 1000) len = len * 10 + (t[i++] - '0');
      } else if (t[i] == '*') {
        explode = true;
        ++i;
      }
      if (vars == 0) first_explode = explode;
      explode_any = explode_any || explode;
      ++vars;
      if (i >= t.size()) return std::nullopt;
      if (t[i] == ',') { ++i; continue; }
      if (t[i] == '}') { ++i; break; }
      return std::nullopt;
    }
    // Character class: unreserved (+ reserved for + and #); "," unless reserved;
    // "=" for named operators and exploded variables.
    auto set = [&](const char* chars) { for (const char* c = chars; *c; ++c) e.allow[static_cast<unsigned char>(*c)] = true; };
    set(kUnreserved);
    if (reserved) set(kReserved);
    else {
      e.allow[','] = true;
      if (named || first_explode || explode_any) e.allow['='] = true;
    }
    if (vars > 1 || first_explode) e.max_repeat = explode_any ? -1 : vars - 1;
    tpl.parts_.push_back(std::move(e));
  }
  return tpl;
}

bool UriTemplate::matches(std::string_view s) const {
  const std::size_t n = s.size();
  std::vector<char> cur(n + 1, 0), next(n + 1, 0), tmp(n + 1, 0), acc(n + 1, 0);
  cur[0] = 1;
  for (const auto& part : parts_) {
    std::fill(next.begin(), next.end(), 0);
    if (part.literal) {
      step_literal(s, part.text, cur, next);
    } else {
      // Optional: the expression may match nothing.
      next = cur;
      std::vector<char> start(n + 1, 0);
      if (part.first.empty()) start = cur;
      else step_literal(s, part.first, cur, start);
      std::fill(acc.begin(), acc.end(), 0);
      run_class(s, part.allow, start, acc);  // first value
      std::vector<char> frontier = acc;
      for (int k = 0; part.max_repeat < 0 || k < part.max_repeat; ++k) {
        std::fill(tmp.begin(), tmp.end(), 0);
        step_literal(s, part.sep, frontier, tmp);
        std::vector<char> reached(n + 1, 0);
        run_class(s, part.allow, tmp, reached);
        bool grew = false;
        for (std::size_t p = 0; p <= n; ++p) {
          if (reached[p] && !acc[p]) { acc[p] = 1; grew = true; }
        }
        if (!grew) break;
        frontier = std::move(reached);
      }
      for (std::size_t p = 0; p <= n; ++p) next[p] = next[p] || acc[p];
    }
    std::swap(cur, next);
  }
  return cur[n] != 0;
}

}  // namespace herald
