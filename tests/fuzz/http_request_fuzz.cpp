// Fuzzes the HTTP request path: Beast's parser with Herald's limits and framing rules, then
// the router (publish, subscriptions API, health, preflight), on a hub with the in-memory
// transport and no socket. A request that parses must be answered with a status, never
// an exception, a crash or a hang.
#include <cstdint>
#include <cstdlib>

#include <boost/asio/co_spawn.hpp>
#include <boost/beast/http/parser.hpp>

#include "core/logging.hpp"
#include "http/http_common.hpp"
#include "transport/transport.hpp"

namespace {
using namespace herald;
using namespace herald::http_detail;

struct World {
  Config config;
  std::unique_ptr<Hub> hub;
  std::unique_ptr<Authenticator> auth;
  World() {
    setup_logging(LogFormat::text, "off");  // a log line per request would be most of the cost
    config.publisher = {"!ChangeThisMercureHubJWTSecretKey!", "HS256", ""};
    config.subscriber = config.publisher;
    config.allow_anonymous = true;
    config.subscriptions = true;
    config.cors_allowed_origins = {"https://example.com"};
    config.publish_allowed_origins = {"https://example.com"};
    config.shards = 1;
    config.transport_url = "local://?size=10";
    hub = std::make_unique<Hub>(config, make_transport(config.transport_url));
    auth = std::make_unique<Authenticator>(config);
  }
};

void answer(World& w, const Request& req) {
  Shard& shard = w.hub->shard(0);
  Context ctx{*w.hub, shard, *w.auth, w.config};
  bool done = false;
  Target target = split_target(req);
  boost::asio::co_spawn(shard.context(), respond(ctx, req, target), [&](std::exception_ptr e, Response res) {
    if (e) std::abort();  // the router must answer, never throw
    if (res.result_int() < 200 || res.result_int() > 599) std::abort();
    done = true;
  });
  shard.context().restart();
  shard.context().run();
  if (!done) std::abort();  // a request that never got its answer
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World world;
  namespace http = boost::beast::http;
  http::request_parser<http::string_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(world.config.max_body_size);
  parser.eager(true);
  boost::system::error_code ec;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  bool checked = false;
  while (!in.empty() && !parser.is_done()) {
    auto n = parser.put(boost::asio::buffer(in.data(), in.size()), ec);
    in.remove_prefix(n);
    if (ec == http::error::need_more) {
      if (n == 0) break;
      ec = {};
      continue;
    }
    if (ec) return 0;  // a 400/413/431 in the session
    if (parser.is_header_done() && !checked) {
      checked = true;
      if (check_framing(parser.get(), world.config)) return 0;  // refused, connection closed
    }
  }
  if (!parser.is_done()) {
    if (!parser.got_some()) return 0;  // nothing sent: the session just closes (put_eof's precondition)
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return 0;
  }
  if (!checked && check_framing(parser.get(), world.config)) return 0;
  answer(world, parser.get());
  return 0;
}
