// One HTTP/1.1 connection: read a request, route it, answer, repeat while keep-alive.
// A subscribe request hands the socket to the SSE handler and ends the loop.
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "core/logging.hpp"
#include "core/metrics.hpp"
#include "http/front.hpp"
#include "http/session.hpp"

namespace herald::http_detail {
namespace {
constexpr std::string_view kHubPath = "/.well-known/mercure";
constexpr std::string_view kSubscriptionsPath = "/.well-known/mercure/subscriptions";
constexpr std::uint32_t kHeaderLimit = 64 * 1024;
constexpr std::uint64_t kNonPublishBodyLimit = 64 * 1024;

Response plain(const Request& req, const Config& config, http::status status, std::string body) {
  auto res = make_response(req, config, status, std::move(body));
  return res;
}

/// Routes a non-streaming request.
Task<Response> route(Context ctx, const Request& req, std::string_view path, const Params& query) {
  const Config& config = ctx.config;
  if (path == kHubPath) {
    if (req.method() == http::verb::options && !config.cors_allowed_origins.empty() &&
        req.find(http::field::access_control_request_method) != req.end())
      co_return make_preflight(req, config);
    if (req.method() == http::verb::post && ctx.auth.enabled(Role::publisher))
      co_return co_await handle_publish(ctx, req, query);
    co_return plain(req, config, http::status::method_not_allowed, "");
  }
  if (config.ui && (is_ui_path(path) || path == "/")) co_return co_await handle_ui(ctx, req, path);
  if (path.starts_with(kSubscriptionsPath) &&
      (path.size() == kSubscriptionsPath.size() || path[kSubscriptionsPath.size()] == '/'))
    co_return co_await handle_subscriptions(ctx, req, path, query);
  if (path == "/healthz") {
    if (req.method() == http::verb::get || req.method() == http::verb::head) {
      if (!ctx.hub.backend().healthy())
        co_return plain(req, config, http::status::service_unavailable, "transport unavailable\n");
      co_return plain(req, config, http::status::ok, req.method() == http::verb::head ? "" : "ok\n");
    }
    co_return plain(req, config, http::status::method_not_allowed, "");
  }
  co_return plain(req, config, http::status::not_found, "404 page not found\n");
}

Response error_for(const Request& req, const Config& config, http::status status, std::string body) {
  auto res = plain(req, config, status, std::move(body));
  res.keep_alive(false);
  return res;
}

}  // namespace

// RFC 9112 §6.3: a Transfer-Encoding other than exactly "chunked" leaves the body's length
// unknown; read as bodiless, its body would be taken for the next request (smuggling).
std::optional<Response> check_framing(const http::request_header<>& header, const Config& config) {
  auto te = header.equal_range(http::field::transfer_encoding);
  if (te.first == te.second) return std::nullopt;
  Request r;
  r.version(header.version());
  std::size_t count = 0;
  std::string_view value;
  for (auto it = te.first; it != te.second; ++it, ++count) value = std::string_view(it->value().data(), it->value().size());
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (header.find(http::field::content_length) != header.end())
    return error_for(r, config, http::status::bad_request, "Bad Request: both Transfer-Encoding and Content-Length\n");
  if (count != 1 || !beast::iequals(value, "chunked"))
    return error_for(r, config, http::status::not_implemented, "Unsupported transfer encoding\n");
  return std::nullopt;
}

Target split_target(const Request& req) {
  std::string_view target(req.target().data(), req.target().size());
  auto qpos = target.find('?');
  std::string_view path = target.substr(0, qpos);
  auto query = parse_query(qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1));
  if (!query || path.empty() || path.front() != '/') return {path, std::nullopt};
  return {path, std::move(query)};
}

Task<Response> respond(Context ctx, const Request& req, const Target& target) {
  if (!target.query) co_return error_for(req, ctx.config, http::status::bad_request, "Bad Request\n");
  if (ctx.admin) co_return co_await handle_admin(ctx, req, target.path);
  co_return co_await route(ctx, req, target.path, *target.query);
}

namespace {

/// Reads a request header, at most kHeaderLimit bytes in all. Beast's own header_limit
/// only bounds the fields parsed in one read: a header sent in many small pieces (20,000
/// short fields) passed it, and its fields grew without bound until read_timeout.
Task<boost::system::error_code> read_header(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                            http::request_parser<http::string_body>& parser) {
  std::size_t total = 0;
  while (!parser.is_header_done()) {
    auto [ec, n] = co_await http::async_read_some(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return ec;
    total += n;
    if (total > kHeaderLimit) co_return http::error::header_limit;
  }
  co_return boost::system::error_code{};
}

/// An exception a handler did not expect: the request gets a 500 and a log line (never a
/// silently dropped connection), and the connection closes.
Response internal_error(const Request& req, const Config& config, std::exception_ptr e) {
  static const auto log = logger("http");
  log->error("request_failed error=\"{}\" method={}", describe_exception(e), std::string(req.method_string()));
  return error_for(req, config, http::status::internal_server_error, "Internal Server Error\n");
}
}  // namespace

/// A lingering close: after the answer and our FIN, what the client is still sending (the rest
/// of a refused oversized request) is read and dropped, bounded in time and bytes, so that the
/// kernel does not answer it with a reset that would destroy the answer before the client reads it.
Task<void> drain_before_close(beast::tcp_stream& stream) {
  constexpr std::size_t kMaxBytes = 8u << 20;
  stream.expires_after(std::chrono::seconds(2));
  std::array<char, 16384> sink;
  std::size_t total = 0;
  while (total < kMaxBytes) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    total += n;
  }
}

/// The start of the HTTP/2 client preface, which Beast refuses as a bad version.
bool starts_with_h2_preface(const beast::flat_buffer& buffer) {
  static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n";
  auto data = buffer.data();
  return data.size() >= kPreface.size() &&
         std::string_view(static_cast<const char*>(data.data()), kPreface.size()) == kPreface;
}

Task<void> run_session(Context ctx, tcp::socket socket, std::string remote) {
  boost::system::error_code ec;
  if (remote.empty()) remote = peer_address(socket);
  bool first = true;
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  const Config& config = ctx.config;
  TrackedConnection tracked(ctx.shard, [&stream] {
    boost::system::error_code e;
    stream.socket().close(e);
  });
  struct Counted {  // herald_open_connections: the main address's connections only
    bool counted;
    explicit Counted(bool c) : counted(c) { if (counted) metrics().open_connections.add(1); }
    ~Counted() { if (counted) metrics().open_connections.add(-1); }
  } counted{ctx.admin == nullptr};

  for (;;) {
    if (ctx.shard.stopping()) break;
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(config.max_body_size);
    if (config.read_timeout > Duration::zero()) stream.expires_after(config.read_timeout);
    auto hec = co_await read_header(stream, buffer, parser);
    if (hec == http::error::bad_version && first && !ctx.admin && starts_with_h2_preface(buffer)) {
      // h2c with prior knowledge (Beast refuses "HTTP/2.0"): what was read is still buffered.
      auto data = buffer.data();
      std::string preread(static_cast<const char*>(data.data()), data.size());
      stream.expires_never();
      co_await run_h2c_connection(ctx, stream.release_socket(), remote, std::move(preread));
      co_return;
    }
    first = false;
    std::optional<Response> error;
    if (hec) {
      if (hec == http::error::end_of_stream || hec == asio::error::eof || hec == beast::error::timeout ||
          hec == asio::error::operation_aborted || hec == asio::error::connection_reset || !stream.socket().is_open())
        break;
      Request dummy;
      dummy.version(11);
      if (hec == http::error::body_limit)
        error = error_for(dummy, config, http::status::payload_too_large, "Request Entity Too Large\n");
      else if (hec == http::error::header_limit)
        error = error_for(dummy, config, http::status::request_header_fields_too_large, "Request Header Fields Too Large\n");
      else
        error = error_for(dummy, config, http::status::bad_request, "Bad Request\n");
    } else {
      auto& header = parser.get();
      if (header.method() != http::verb::post) parser.body_limit(kNonPublishBodyLimit);
      if (auto framing = check_framing(parser.get(), config)) {
        error = std::move(*framing);
      } else if (parser.content_length() && *parser.content_length() > (header.method() == http::verb::post ? config.max_body_size : kNonPublishBodyLimit)) {
        Request r;
        r.version(header.version());
        error = error_for(r, config, http::status::payload_too_large, "Request Entity Too Large\n");
      } else {
        auto expect = header.find(http::field::expect);
        if (expect != header.end() && beast::iequals(expect->value(), "100-continue")) {
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          co_await asio::async_write(stream, asio::buffer(kContinue.data(), kContinue.size()),
                                     asio::as_tuple(asio::use_awaitable));
        }
        auto [bec, bn] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
        if (bec == http::error::body_limit) {
          error = error_for(parser.get(), config, http::status::payload_too_large, "Request Entity Too Large\n");
        } else if (bec) {
          if (bec == beast::error::timeout || bec == http::error::end_of_stream || bec == asio::error::eof ||
              bec == asio::error::connection_reset || bec == asio::error::operation_aborted)
            break;
          error = error_for(parser.get(), config, http::status::bad_request, "Bad Request\n");
        }
      }
    }
    stream.expires_never();
    if (error) {
      if (config.dispatch_timeout > Duration::zero()) stream.expires_after(config.dispatch_timeout);
      co_await http::async_write(stream, *error, asio::as_tuple(asio::use_awaitable));
      break;
    }

    Request req = parser.release();
    Target target = split_target(req);
    Response res;
    std::exception_ptr failure;
    try {
      if (!ctx.admin && target.query && target.path == kHubPath &&
          (req.method() == http::verb::get || req.method() == http::verb::head) &&
          (ctx.auth.enabled(Role::subscriber) || config.allow_anonymous)) {
        // Streams live long: give back the read buffer first. The handler moves the socket
        // out of the stream once the SSE response starts.
        buffer.clear();
        buffer.shrink_to_fit();
        auto maybe = co_await handle_subscribe(ctx, stream.socket(), req, std::move(*target.query),
                                                 client_address(req, remote, config.use_forwarded_headers));
        if (!maybe) co_return;  // the stream ran; the socket is closed
        res = std::move(*maybe);
      } else {
        res = co_await respond(ctx, req, target);
      }
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) {
      if (!stream.socket().is_open()) co_return;  // the stream took the socket and answered
      res = internal_error(req, config, failure);
    }
    if (config.dispatch_timeout > Duration::zero()) stream.expires_after(config.dispatch_timeout);
    auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    if (wec || !res.keep_alive()) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  co_await drain_before_close(stream);
  stream.socket().close(ec);
}

}  // namespace herald::http_detail
