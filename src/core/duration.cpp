#include "core/duration.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace herald {

std::optional<Duration> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  if (s == "0") return Duration::zero();
  if (s.front() == '-') return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  // A bare (integer or decimal) number means seconds.
  if (s.find_first_not_of("0123456789.") == std::string_view::npos) {
    try {
      std::size_t used = 0;
      double v = std::stod(std::string(s), &used);
      if (used != s.size() || !std::isfinite(v) || v > 1e9) return std::nullopt;
      return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(v));
    } catch (...) {
      return std::nullopt;
    }
  }
  long double total_ns = 0;
  while (!s.empty()) {
    std::size_t i = 0;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    if (i == 0) return std::nullopt;
    std::string number(s.substr(0, i));
    if (std::count(number.begin(), number.end(), '.') > 1 || number == ".") return std::nullopt;
    s.remove_prefix(i);
    std::size_t j = 0;
    while (j < s.size() && !((s[j] >= '0' && s[j] <= '9') || s[j] == '.')) ++j;
    std::string_view unit = s.substr(0, j);
    s.remove_prefix(j);
    long double scale;
    if (unit == "ns") scale = 1;
    else if (unit == "us" || unit == "\u00b5s" || unit == "\u03bcs") scale = 1e3;
    else if (unit == "ms") scale = 1e6;
    else if (unit == "s") scale = 1e9;
    else if (unit == "m") scale = 60e9;
    else if (unit == "h") scale = 3600e9;
    else return std::nullopt;
    total_ns += std::stold(number) * scale;
    if (total_ns > 9.2e18L) return std::nullopt;
  }
  return Duration(static_cast<Duration::rep>(total_ns));
}

std::string format_duration(Duration d) {
  using namespace std::chrono;
  if (d == Duration::zero()) return "0s";
  auto ns = d.count();
  if (ns % 1'000'000'000 != 0) {
    if (ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
    return std::to_string(ns) + "ns";
  }
  auto secs = ns / 1'000'000'000;
  std::string out;
  if (secs >= 3600) { out += std::to_string(secs / 3600) + "h"; secs %= 3600; }
  if (secs >= 60) { out += std::to_string(secs / 60) + "m"; secs %= 60; }
  if (secs > 0 || out.empty()) out += std::to_string(secs) + "s";
  return out;
}

}  // namespace herald
