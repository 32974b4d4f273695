#include "transport/url_params.hpp"

#include <charconv>

#include "core/config_error.hpp"

namespace herald::url_params {

void bad(const std::string& what) { throw ConfigError("invalid transport_url: " + what); }

std::uint64_t number(const std::string& key, const std::string& v, std::uint64_t max) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || n > max)
    bad(key + " must be an integer between 0 and " + std::to_string(max));
  return n;
}

bool flag(const std::string& key, const std::string& v) {
  if (v == "1" || v == "true") return true;
  if (v == "0" || v == "false" || v.empty()) return false;
  bad(key + " must be 0 or 1");
}

Duration duration(const std::string& key, const std::string& v, bool zero_ok) {
  auto d = parse_duration(v);
  if (!d || *d < Duration::zero() || (!zero_ok && *d == Duration::zero()))
    bad(key + " must be a " + (zero_ok ? "" : "positive ") + "duration such as 5s");
  return *d;
}

}  // namespace herald::url_params
