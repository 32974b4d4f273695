// GET /.well-known/mercure/ui/...: the debug UI (when ui, demo or --dev is on), its files
// compiled in (http/ui_assets.hpp), and cluster.json, the cluster status for its cluster page.
#include "hub/health.hpp"
#include "http/http_common.hpp"
#include "http/ui_assets.hpp"

namespace herald::http_detail {
namespace {
constexpr std::string_view kUiPath = "/.well-known/mercure/ui";

std::string_view content_type_of(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}
}  // namespace

bool is_ui_path(std::string_view path) {
  return path.starts_with(kUiPath) && (path.size() == kUiPath.size() || path[kUiPath.size()] == '/');
}

Task<Response> handle_ui(Context ctx, const Request& req, std::string_view path) {
  const Config& config = ctx.config;
  if (req.method() != http::verb::get && req.method() != http::verb::head)
    co_return make_response(req, config, http::status::method_not_allowed, "");
  if (path == kUiPath || path == "/") {  // "/": as the reference's dev.Caddyfile; the UI needs the slash
    auto res = make_response(req, config, http::status::moved_permanently, "");
    res.set(http::field::location, std::string(kUiPath) + "/");
    co_return res;
  }
  std::string_view name = path.substr(kUiPath.size() + 1);
  if (name.empty()) name = "index.html";
  if (name == "cluster.json") {
    auto doc = ctx.health ? cluster_status(ctx, *ctx.health) : std::nullopt;
    if (!doc) co_return make_response(req, config, http::status::service_unavailable, "{\"error\":\"no cluster status\"}\n",
                                      "application/json");
    co_return make_response(req, config, http::status::ok, std::move(*doc), "application/json");
  }
  for (const auto& asset : ui_assets()) {
    if (asset.name != name) continue;
    auto res = make_response(req, config, http::status::ok,
                             req.method() == http::verb::head ? std::string() : std::string(asset.content),
                             content_type_of(name));
    res.set(http::field::cache_control, "no-cache");
    co_return res;
  }
  co_return make_response(req, config, http::status::not_found, "404 page not found\n");
}

}  // namespace herald::http_detail
