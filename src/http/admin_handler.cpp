// The admin address (admin_addr, default localhost:2019 as the Mercure hub's): readiness and
// liveness in the Mercure hub's paths, the cluster's status, and /metrics (Prometheus).
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <nlohmann/json.hpp>

#include "core/metrics.hpp"
#include "http/http_common.hpp"
#include "hub/health.hpp"
#include "hub/hub.hpp"

namespace herald::http_detail {
namespace {

Response json_response(const Request& req, const Config& config, http::status status, std::string body) {
  auto res = make_response(req, config, status, req.method() == http::verb::head ? "" : std::move(body),
                           "application/json");
  return res;
}

/// The transport URL as operators may see it: no user, password or query (which may hold
/// credentials, e.g. listen_url).
std::string public_url(const std::string& text) {
  auto url = boost::urls::parse_uri(text);
  if (!url) return "";
  boost::urls::url u(*url);
  u.remove_userinfo();
  u.remove_query();
  u.remove_fragment();
  return std::string(u.buffer());
}

std::string status_json(const Context& ctx, const HealthReport& r) {
  const std::string& url = ctx.config.transport_url;
  nlohmann::json nodes = nlohmann::json::array();
  nlohmann::json jobs = nlohmann::json::object();
  for (const auto& [job, holder] : r.jobs) jobs[job] = holder ? nlohmann::json(*holder) : nlohmann::json();
  for (const auto& n : r.nodes) {
    bool self = n.id == ctx.hub.backend().node_id();
    nlohmann::json held = nlohmann::json::array();
    for (const auto& [job, holder] : r.jobs)
      if (holder == n.id) held.push_back(job);
    // Another node's position is as of its last heartbeat; this node's is the last probe's.
    std::uint64_t delivered = self ? r.delivered : n.delivered;
    nodes.push_back({{"id", n.id},
                     {"address", n.address},
                     {"host", n.host},
                     {"pid", n.pid},
                     {"version", HERALD_VERSION},
                     {"started_at", n.started_at_ms},
                     {"last_heartbeat", n.last_heartbeat_ms},
                     {"subscribers", n.subscribers},
                     {"delivered", delivered},
                     {"lag", r.head > delivered ? r.head - delivered : 0},
                     {"jobs", std::move(held)},
                     {"state", (self && r.draining) || (n.draining && n.state != NodeState::dead) ? "draining"
                                                                                                   : to_string(n.state)}});
  }
  nlohmann::json j{{"cluster", {{"engine", url.substr(0, url.find(':'))}, {"url", public_url(url)}}},
                   {"node", ctx.hub.backend().node_id()},
                   {"nodes", std::move(nodes)},
                   {"jobs", std::move(jobs)}};
  return j.dump(2) + "\n";
}

}  // namespace

std::optional<std::string> cluster_status(Context ctx, Health& health) {
  auto r = health.report();
  if (!r.registry) return std::nullopt;
  return status_json(ctx, r);
}

Task<Response> handle_admin(Context ctx, const Request& req, std::string_view path) {
  const Config& config = ctx.config;
  if (path == "/cluster/reset") {
    if (req.method() != http::verb::post) co_return make_response(req, config, http::status::method_not_allowed, "");
    auto r = co_await ctx.hub.backend().reset_presence();
    if (r) co_return json_response(req, config, http::status::ok, "{\"reset\":true}\n");
    bool unsupported = r.error() == make_error_code(Errc::not_supported);
    co_return json_response(req, config, unsupported ? http::status::not_implemented : http::status::service_unavailable,
                            unsupported ? "{\"error\":\"this transport cannot reset its presence\"}\n"
                                        : "{\"error\":\"the engine did not answer\"}\n");
  }
  if (req.method() != http::verb::get && req.method() != http::verb::head)
    co_return make_response(req, config, http::status::method_not_allowed, "");
  Health& health = *ctx.admin;
  if (path == "/mercure/health/ready" || path == "/readyz") {
    auto r = health.report();
    co_return json_response(req, config, r.ready() ? http::status::ok : http::status::service_unavailable, r.json());
  }
  if (path == "/mercure/health/live" || path == "/healthz") {
    bool live = health.live();
    co_return json_response(req, config, live ? http::status::ok : http::status::service_unavailable,
                            live ? "{\"status\":\"live\"}\n" : "{\"status\":\"unavailable\"}\n");
  }
  if (path == "/metrics") {
    auto r = health.report();
    MetricsSample sample{.bus_lag = r.head > r.delivered ? r.head - r.delivered : 0,
                         .inbox_depth = ctx.hub.flow().waiting(),
                         .ready = r.ready(),
                         .jobs_held = {}};
    for (const auto& name : ctx.hub.backend().jobs().names())
      sample.jobs_held.emplace_back(name, ctx.hub.backend().jobs().held(name));
    co_return make_response(req, config, http::status::ok, req.method() == http::verb::head ? "" : render_metrics(metrics(), sample),
                            "text/plain; version=0.0.4; charset=utf-8");
  }
  if (path == "/cluster/status") {
    auto doc = cluster_status(ctx, health);
    if (!doc)
      co_return json_response(req, config, http::status::service_unavailable,
                              "{\"error\":\"the node registry did not answer\"}\n");
    co_return json_response(req, config, http::status::ok, std::move(*doc));
  }
  co_return make_response(req, config, http::status::not_found, "404 page not found\n");
}

}  // namespace herald::http_detail
