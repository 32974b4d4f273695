// GET /.well-known/mercure/subscriptions[/{topic}[/{subscriber}]]: the subscriptions API.
// Segments are percent-encoded (as the subscription topics are: Go's QueryEscape), so a
// selector containing '/' arrives as %2F and routing works on the encoded path.
#include "http/http_common.hpp"
#include "hub/subscription_document.hpp"
#include "hub/authorization.hpp"
#include "hub/backend.hpp"

namespace herald::http_detail {

Task<Response> handle_subscriptions(Context ctx, const Request& req, std::string_view path, const Params& query) {
  constexpr std::string_view kPrefix = "/.well-known/mercure/subscriptions";
  const Config& config = ctx.config;
  if (!config.subscriptions) co_return make_response(req, config, http::status::not_found, "404 page not found\n");
  if (req.method() != http::verb::get) co_return make_response(req, config, http::status::method_not_allowed, "");

  std::vector<std::string> segments;
  std::string_view rest = path.substr(kPrefix.size());
  while (!rest.empty()) {
    rest.remove_prefix(1);  // '/'
    auto slash = rest.find('/');
    auto segment = query_unescape(rest.substr(0, slash));
    if (!segment) co_return make_response(req, config, http::status::bad_request, "Invalid path segment\n");
    segments.push_back(std::move(*segment));
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  }
  if (segments.size() > 2 || (segments.size() >= 1 && segments[0].empty()))
    co_return make_response(req, config, http::status::not_found, "404 page not found\n");

  std::string request_uri(req.target());
  if (ctx.auth.enabled(Role::subscriber)) {
    auto auth = ctx.auth.authenticate(Role::subscriber, token_sources(req, query), false, {}, {}, nullptr);
    if (!auth || !*auth || !(*auth)->subscribe ||
        !may_read_subscriptions(ctx.shard.matcher(), *(*auth)->subscribe, request_uri))
      co_return make_response(req, config, http::status::unauthorized, "Unauthorized\n");
  }

  auto last = co_await ctx.hub.backend().last_event_id();
  auto presence = co_await ctx.hub.backend().presence();
  if (!last || !presence)
    co_return make_response(req, config, http::status::internal_server_error, "Internal Server Error\n");
  if (auto inm = req.find(http::field::if_none_match); inm != req.end() && inm->value() == *last) {
    auto res = make_response(req, config, http::status::not_modified, "");
    res.set(http::field::etag, *last);
    co_return res;
  }

  std::optional<std::string> topic;
  if (!segments.empty()) topic = segments[0];
  auto subscriptions = subscriptions_of(*presence, topic);
  std::string body;
  if (segments.size() == 2) {
    auto it = std::find_if(subscriptions.begin(), subscriptions.end(),
                           [&](const SubscriptionView& s) { return s.subscriber == segments[1]; });
    if (it == subscriptions.end()) co_return make_response(req, config, http::status::not_found, "404 page not found\n");
    body = subscription_single_document(*it, *last);
  } else {
    body = subscription_collection_document(request_uri, *last, subscriptions);
  }
  auto res = make_response(req, config, http::status::ok, std::move(body), "application/ld+json");
  res.set(http::field::etag, *last);
  co_return res;
}

}  // namespace herald::http_detail
