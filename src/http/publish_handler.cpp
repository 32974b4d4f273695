// POST /.well-known/mercure: authenticate, validate the form, authorize (hub/authorization),
// build the update, publish it through the hub, answer with its id. Status codes follow the reference hub.
#include <charconv>

#include "core/logging.hpp"
#include "core/metrics.hpp"
#include "core/uuid.hpp"
#include "http/http_common.hpp"
#include "hub/authorization.hpp"

namespace herald::http_detail {
namespace {
constexpr std::size_t kMaxTopics = 1000;
using Clock = std::chrono::steady_clock;

bool has_control(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos; }

std::string_view header(const Request& req, http::field f) {
  auto it = req.find(f);
  return it == req.end() ? std::string_view{} : std::string_view(it->value().data(), it->value().size());
}

bool is_form(const Request& req) {
  auto ct = header(req, http::field::content_type);
  auto semi = ct.find(';');
  auto type = ct.substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  if (type.size() != 33) return false;
  for (std::size_t i = 0; i < type.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(type[i])) != "application/x-www-form-urlencoded"[i]) return false;
  return true;
}

Task<Response> publish_request(Context ctx, const Request& req, const Params& query, Clock::time_point received) {
  static const auto log = logger("publish");  // looked up once: the registry takes a lock
  std::string why;
  auto auth = ctx.auth.authenticate(Role::publisher, token_sources(req, query), true,
                                    header(req, http::field::origin), header(req, http::field::referer), &why);
  if (!auth || !*auth || !(*auth)->publish) {
    log->info("publish_unauthorized reason=\"{}\"", auth && !*auth ? "no token" : auth ? "no mercure.publish claim" : why);
    co_return make_response(req, ctx.config, http::status::unauthorized, "Unauthorized\n");
  }
  const MercureClaims& claims = **auth;

  std::optional<Params> form = is_form(req) ? parse_form(req.body()) : Params{};
  if (!form) co_return make_response(req, ctx.config, http::status::bad_request, "Invalid request body\n");
  auto topics = values(*form, "topic");
  if (topics.empty()) co_return make_response(req, ctx.config, http::status::bad_request, "Missing \"topic\" parameter\n");
  if (topics.size() > kMaxTopics)
    co_return make_response(req, ctx.config, http::status::bad_request, "Too many \"topic\" parameters\n");
  for (const auto& t : topics)
    if (t.find("/.well-known/mercure") != std::string::npos)
      co_return make_response(req, ctx.config, http::status::forbidden, "Forbidden: reserved topic\n");

  auto update = std::make_shared<Update>();
  auto first = [&](std::string_view key) -> std::string {
    for (const auto& [k, v] : *form)
      if (k == key) return v;
    return {};
  };
  if (auto retry = first("retry"); !retry.empty()) {
    auto [ptr, ec] = std::from_chars(retry.data(), retry.data() + retry.size(), update->retry);
    if (ec != std::errc{} || ptr != retry.data() + retry.size())
      co_return make_response(req, ctx.config, http::status::bad_request, "Invalid \"retry\" parameter\n");
  }
  update->is_private = !values(*form, "private").empty();

  // Every topic must be allowed by mercure.publish (compat 7: only private updates are checked).
  if (!may_publish(ctx.shard.matcher(), *claims.publish, topics, update->is_private,
                   ctx.config.protocol_version_compatibility)) {
    log->info("publish_unauthorized reason=\"topic not allowed by mercure.publish\"");
    co_return make_response(req, ctx.config, http::status::unauthorized, "Unauthorized\n");
  }
  update->id = first("id");
  update->type = first("type");
  if (has_control(update->id) || has_control(update->type))
    co_return make_response(req, ctx.config, http::status::bad_request, "Invalid \"id\" or \"type\" parameter\n");
  if (update->id.empty()) update->id = make_urn_uuid_v7();
  update->data = first("data");
  update->topics = std::move(topics);

  std::string id = update->id;
  auto published = co_await ctx.hub.publish(std::move(update), received);
  if (!published && published.error() == make_error_code(Errc::invalid_argument))
    co_return make_response(req, ctx.config, http::status::bad_request,
                            "The transport cannot store this update (text must be valid UTF-8 without NUL)\n");
  if (!published) {
    log->error("publish_failed error=\"{}\"", published.error().message());
    co_return make_response(req, ctx.config, http::status::internal_server_error, "Internal Server Error\n");
  }
  log->debug("published seq={}", *published);
  co_return make_response(req, ctx.config, http::status::ok, std::move(id));
}

PublishOutcome outcome_of(http::status status) {
  switch (status) {
    case http::status::ok: return PublishOutcome::accepted;
    case http::status::bad_request: return PublishOutcome::bad_request;
    case http::status::unauthorized: return PublishOutcome::unauthorized;
    case http::status::forbidden: return PublishOutcome::forbidden;
    case http::status::payload_too_large: return PublishOutcome::too_large;
    default: return PublishOutcome::failed;
  }
}

}  // namespace

Task<Response> handle_publish(Context ctx, const Request& req, const Params& query) {
  auto received = Clock::now();
  Response res = co_await publish_request(ctx, req, query, received);
  auto outcome = outcome_of(res.result());
  metrics().publish(outcome);
  if (outcome == PublishOutcome::accepted) {
    metrics().updates_total.inc();
    metrics().publish_seconds.observe(Clock::now() - received);
  }
  co_return res;
}

}  // namespace herald::http_detail
