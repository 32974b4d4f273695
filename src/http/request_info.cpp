// Query strings, form bodies, headers and token sources.
//
// Query strings and form bodies are decoded by hand rather than with Boost.URL's
// parse_query: Boost.URL enforces the RFC 3986 grammar and rejects raw spaces, newlines
// and other bytes that Go's url.ParseQuery (the reference hub) accepts and that clients
// such as `curl -d 'data=hello world'` send. Like Go, only a malformed %XX is an error.
#include "http/http_common.hpp"

namespace herald::http_detail {
namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool unescape(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

std::optional<Params> decode_pairs(std::string_view s, bool lenient) {
  Params out;
  while (!s.empty()) {
    auto amp = s.find('&');
    std::string_view pair = s.substr(0, amp);
    s = amp == std::string_view::npos ? std::string_view{} : s.substr(amp + 1);
    if (pair.empty()) continue;
    if (pair.find(';') != std::string_view::npos) {
      if (lenient) continue;  // Go drops such pairs from url.Query()
      return std::nullopt;    // and ParseForm reports them as an error
    }
    auto eq = pair.find('=');
    std::string key, value;
    bool ok = unescape(pair.substr(0, eq), key) &&
              (eq == std::string_view::npos || unescape(pair.substr(eq + 1), value));
    if (!ok) {
      if (lenient) continue;
      return std::nullopt;
    }
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}
}  // namespace

std::optional<Params> parse_query(std::string_view encoded) { return decode_pairs(encoded, true); }
std::optional<Params> parse_form(std::string_view body) { return decode_pairs(body, false); }

std::vector<std::string> values(const Params& params, std::string_view key) {
  std::vector<std::string> out;
  for (const auto& [k, v] : params)
    if (k == key) out.push_back(v);
  return out;
}

std::vector<std::string_view> header_values(const Request& req, http::field name) {
  std::vector<std::string_view> out;
  auto range = req.equal_range(name);
  for (auto it = range.first; it != range.second; ++it) out.emplace_back(it->value().data(), it->value().size());
  return out;
}

TokenSources token_sources(const Request& req, const Params& query) {
  TokenSources s;
  s.authorization_headers = header_values(req, http::field::authorization);
  s.authorization_params = values(query, "authorization");
  s.cookie_headers = header_values(req, http::field::cookie);
  return s;
}

std::string peer_address(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  return ec ? std::string("unknown") : endpoint.address().to_string();
}

std::string client_address(const Request& req, const std::string& peer, bool use_forwarded_headers) {
  if (!use_forwarded_headers) return peer;
  auto clean = [](std::string_view v) -> std::string {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    if (v.empty() || v.size() > 100) return {};
    for (unsigned char c : v)
      if (c < 0x21 || c == 0x7f) return {};
    return std::string(v);
  };
  if (auto forwarded = header_values(req, http::field::forwarded); !forwarded.empty()) {
    std::string_view first = forwarded.front().substr(0, forwarded.front().find(','));
    while (!first.empty()) {
      auto semi = first.find(';');
      std::string_view pair = first.substr(0, semi);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      if (pair.size() > 4 && (pair.substr(0, 4) == "for=" || pair.substr(0, 4) == "For=" || pair.substr(0, 4) == "FOR="))
        if (auto v = clean(pair.substr(4)); !v.empty()) return v;
      if (semi == std::string_view::npos) break;
      first.remove_prefix(semi + 1);
    }
  }
  if (auto xff = req.find("X-Forwarded-For"); xff != req.end()) {
    std::string_view value(xff->value().data(), xff->value().size());
    if (auto v = clean(value.substr(0, value.find(','))); !v.empty()) return v;
  }
  return peer;
}

}  // namespace herald::http_detail
