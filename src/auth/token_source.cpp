#include "auth/token_source.hpp"

#include <algorithm>
#include <cctype>

namespace herald {
namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}
}  // namespace

std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto pair = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) != name) continue;
    auto value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return value;
  }
  return {};
}

Result<FoundToken> find_token(const TokenSources& s, std::string_view cookie_name, bool query_allowed) {
  if (!s.authorization_headers.empty()) {
    if (s.authorization_headers.size() != 1) return Errc::unauthorized;
    std::string_view v = s.authorization_headers.front();
    if (v.size() < 48 || v.substr(0, 7) != "Bearer ") return Errc::unauthorized;
    return FoundToken{std::string(v.substr(7)), TokenOrigin::header};
  }
  if (query_allowed && !s.authorization_params.empty()) {
    if (s.authorization_params.size() != 1 || s.authorization_params.front().size() < 41) return Errc::unauthorized;
    return FoundToken{s.authorization_params.front(), TokenOrigin::query};
  }
  for (auto header : s.cookie_headers) {
    auto v = cookie_value(header, cookie_name);
    if (!v.empty()) return FoundToken{std::string(v), TokenOrigin::cookie};
  }
  return FoundToken{};
}

bool origin_allowed(const std::vector<std::string>& allowed, std::string_view origin_in) {
  if (origin_in.empty()) return false;
  std::string origin = lower(origin_in);
  for (const auto& a : allowed) {
    if (a == "*" || a == origin) return true;
    auto star = a.find('*');
    if (star == std::string::npos) continue;
    std::string_view prefix(a.data(), star);
    std::string_view suffix(a.data() + star + 1, a.size() - star - 1);
    if (origin.size() >= prefix.size() + suffix.size() && origin.compare(0, prefix.size(), prefix) == 0 &&
        origin.compare(origin.size() - suffix.size(), suffix.size(), suffix) == 0)
      return true;
  }
  return false;
}

std::string referer_origin(std::string_view referer) {
  auto scheme_end = referer.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return {};
  auto host_end = referer.find_first_of("/?#", scheme_end + 3);
  auto origin = referer.substr(0, host_end);
  if (origin.size() <= scheme_end + 3) return {};
  return std::string(origin);
}

}  // namespace herald
