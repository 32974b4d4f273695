#pragma once
// Internal to src/http: the only place that includes Beast.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/url/url_view.hpp>

#include "auth/authenticator.hpp"
#include "core/task.hpp"
#include "hub/hub.hpp"

namespace herald {
class Health;
}  // namespace herald
namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace herald::http_detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

/// What a request handler needs; all references outlive every connection.
struct Context {
  Hub& hub;
  Shard& shard;
  Authenticator& auth;
  const Config& config;
  /// Set on the admin address's connections: only the admin routes are served there.
  herald::Health* admin = nullptr;
  /// The node's health, for the debug UI's cluster page (set on the main address when the
  /// UI is on).
  herald::Health* health = nullptr;
  /// Set when the main address serves TLS (cert_file, key_file): every connection is TLS.
  boost::asio::ssl::context* tls = nullptr;
};

/// Keeps a connection on its shard's list (Shard::track) for as long as this lives, so that
/// shutdown can close it with `close`. Shard thread.
class TrackedConnection {
 public:
  TrackedConnection(Shard& shard, std::function<void()> close) : shard_(shard), handle_(shard.track(std::move(close))) {}
  ~TrackedConnection() { shard_.untrack(handle_); }
  TrackedConnection(const TrackedConnection&) = delete;
  TrackedConnection& operator=(const TrackedConnection&) = delete;

 private:
  Shard& shard_;
  std::uint64_t handle_;
};

/// Decoded query parameters in order, Go url.Query() style (pairs with a raw ';' dropped).
using Params = std::vector<std::pair<std::string, std::string>>;
std::optional<Params> parse_query(std::string_view encoded_query);
/// Decodes an application/x-www-form-urlencoded body; nullopt when malformed.
std::optional<Params> parse_form(std::string_view body);
std::vector<std::string> values(const Params& params, std::string_view key);

/// Header values of `name` (every occurrence).
std::vector<std::string_view> header_values(const Request& req, http::field name);

/// The token sources of a request (Authorization header, authorization param, cookies).
TokenSources token_sources(const Request& req, const Params& query);

/// The address of the socket's peer ("unknown" when the socket cannot tell).
std::string peer_address(const tcp::socket& socket);

/// The client's address for logs: `peer`, or with use_forwarded_headers the first hop of the
/// Forwarded header's for= (RFC 7239), else of X-Forwarded-For. A malformed value (control
/// characters, over 100 bytes, empty) is ignored: `peer` is used.
std::string client_address(const Request& req, const std::string& peer, bool use_forwarded_headers);

/// Adds the security headers (every response) and the CORS headers (when configured and
/// the Origin is allowed) to `fields`.
void add_common_headers(http::fields& fields, const Request& req, const Config& config);

/// A complete response with the common headers, keep-alive as requested.
Response make_response(const Request& req, const Config& config, http::status status, std::string body,
                       std::string_view content_type = "text/plain; charset=utf-8");

/// The CORS preflight answer (OPTIONS with Access-Control-Request-Method).
Response make_preflight(const Request& req, const Config& config);

/// RFC 9112 §6.3 framing rules for a request header: Transfer-Encoding must be exactly
/// "chunked" (else 501) and never comes with Content-Length (else 400). The error response
/// closes the connection; nullopt when the framing is sound.
std::optional<Response> check_framing(const http::request_header<>& header, const Config& config);

/// A request target split once: the path, and the decoded query (nullopt when the query is
/// malformed or the path does not start with '/': the request is a 400).
struct Target {
  std::string_view path;  ///< points into the request's target
  std::optional<Params> query;
};
Target split_target(const Request& req);

/// Answers a complete request that does not open a stream: 400 for a bad target, else the
/// routes (publish, subscriptions API, health, CORS preflight, 404/405). Runs on the shard
/// of `ctx`; never throws for bad input (a 4xx); the socket is not involved (fuzzed as is).
Task<Response> respond(Context ctx, const Request& req, const Target& target);

/// POST /.well-known/mercure
Task<Response> handle_publish(Context ctx, const Request& req, const Params& query);

/// GET /.well-known/mercure/subscriptions[/{topic}[/{subscriber}]] (path: the encoded path).
Task<Response> handle_subscriptions(Context ctx, const Request& req, std::string_view path, const Params& query);

/// GET/HEAD /.well-known/mercure: takes over the socket for the SSE stream. Returns a
/// response to send instead (an error), or nullopt once the stream was handed to a
/// coroutine of its own (the session then ends: its buffers are not kept per stream).
/// The admin address's routes: /mercure/health/ready, /mercure/health/live, /cluster/status, /metrics.
Task<Response> handle_admin(Context ctx, const Request& req, std::string_view path);
/// The cluster status document (/cluster/status), or nullopt when the registry did not answer.
std::optional<std::string> cluster_status(Context ctx, herald::Health& health);
/// The debug UI's paths: /.well-known/mercure/ui and below.
bool is_ui_path(std::string_view path);
/// GET/HEAD of the debug UI (its files, and ui/cluster.json; "/" redirects to it); only routed
/// when the UI is on.
Task<Response> handle_ui(Context ctx, const Request& req, std::string_view path);
Task<std::optional<Response>> handle_subscribe(Context ctx, tcp::socket& socket, const Request& req, Params query,
                                               std::string remote_addr);

}  // namespace herald::http_detail
