// Security and CORS headers, and the responses every handler shares.
#include <algorithm>

#include "auth/token_source.hpp"
#include "http/http_common.hpp"

namespace herald::http_detail {
namespace {
std::string_view origin_of(const Request& req) {
  auto it = req.find(http::field::origin);
  if (it == req.end()) return {};
  return {it->value().data(), it->value().size()};
}

bool cors_allows(const Config& config, std::string_view origin) {
  if (config.cors_allowed_origins.empty() || origin.empty()) return false;
  return origin_allowed(config.cors_allowed_origins, origin);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}
}  // namespace

void add_common_headers(http::fields& f, const Request& req, const Config& config) {
  f.set("X-Frame-Options", "DENY");
  f.set("X-Content-Type-Options", "nosniff");
  f.set("X-Xss-Protection", "1; mode=block");
  f.set("Content-Security-Policy", "default-src 'self'");
  if (!config.cors_allowed_origins.empty()) {
    f.set(http::field::vary, "Origin");
    auto origin = origin_of(req);
    if (cors_allows(config, origin)) {
      f.set(http::field::access_control_allow_origin, origin);
      f.set(http::field::access_control_allow_credentials, "true");
    }
  }
}

Response make_response(const Request& req, const Config& config, http::status status, std::string body,
                       std::string_view content_type) {
  Response res{status, req.version()};
  res.set(http::field::server, "herald");
  add_common_headers(res.base(), req, config);
  if (!body.empty() || status == http::status::ok) res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

Response make_preflight(const Request& req, const Config& config) {
  Response res{http::status::no_content, req.version()};
  res.set(http::field::server, "herald");
  add_common_headers(res.base(), req, config);
  res.set(http::field::vary, "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  auto origin = origin_of(req);
  auto method_it = req.find(http::field::access_control_request_method);
  std::string method = method_it == req.end() ? std::string{} : std::string(method_it->value());
  bool method_ok = method == "GET" || method == "POST" || method == "HEAD";
  // Every requested header must be one of the allowed ones.
  bool headers_ok = true;
  std::string requested;
  if (auto h = req.find(http::field::access_control_request_headers); h != req.end()) {
    requested = lower(std::string_view(h->value().data(), h->value().size()));
    std::string_view rest = requested;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      auto item = rest.substr(0, comma);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (!item.empty() && item != "authorization" && item != "cache-control" && item != "last-event-id" &&
          item != "content-type")
        headers_ok = false;
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  if (!cors_allows(config, origin) || !method_ok || !headers_ok) {
    res.erase(http::field::access_control_allow_origin);
    res.erase(http::field::access_control_allow_credentials);
  } else {
    res.set(http::field::access_control_allow_methods, method);
    if (!requested.empty()) res.set(http::field::access_control_allow_headers, requested);
  }
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

}  // namespace herald::http_detail
