#include "hub/presence.hpp"

#include "core/log_throttle.hpp"
#include "core/logging.hpp"
#include "core/uuid.hpp"
#include "hub/subscription_document.hpp"

namespace herald {
namespace {
/// The largest payload (as the subscription documents render it) that presence carries.
/// A token's payload is at most 64 KiB and 64 levels deep (auth/claims.cpp); rendered with
/// indentation it could still grow to megabytes, written once per selector: beyond this
/// bound the payload is left out of the subscription events and the subscriptions API.
constexpr std::size_t kMaxRenderedPayload = 64 * 1024;

void warn_throttled(LogThrottle& throttle, const char* event, const std::string& detail) {
  std::uint64_t suppressed = 0;
  if (throttle.allow(suppressed))
    logger("presence")->warn("{} {} suppressed_since_last={}", event, detail, suppressed);
}
}  // namespace

SubscriberInfo subscriber_info(const Subscriber& s) {
  SubscriberInfo info;
  info.id = s.id.urn();
  info.topics = s.topics;
  if (s.payload) {
    constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
    if (s.payload->dump(2, ' ', false, kReplace).size() <= kMaxRenderedPayload) {
      info.payload_json = s.payload->dump(-1, ' ', false, kReplace);
    } else {
      static LogThrottle throttle;
      warn_throttled(throttle, "subscription_payload_omitted",
                     "subscriber=" + s.id.urn() + " reason=\"the token's payload renders larger than 64 KiB\"");
    }
  }
  return info;
}

Task<Seq> publish_subscription_events(Backend& backend, const SubscriberInfo& info, bool active) {
  static LogThrottle throttle;
  Seq last = 0;
  for (const auto& selector : info.topics) {
    auto update = std::make_shared<Update>();
    update->id = make_urn_uuid_v7();
    update->topics = {subscription_topic(selector, info.id)};
    update->data = subscription_event_document({info.id, selector, info.payload_json, active});
    update->is_private = true;
    update->subscription_event = true;
    auto r = co_await backend.publish(std::move(update));
    if (r) last = *r;
    if (!r && r.error() != make_error_code(Errc::closed))
      warn_throttled(throttle, "subscription_event_failed", "error=\"" + r.error().message() + "\"");
  }
  co_return last;
}

Task<Seq> announce_subscriptions(Backend& backend, SubscriberInfo info, bool active) {
  static LogThrottle throttle;
  Seq last = co_await publish_subscription_events(backend, info, active);
  std::string id = info.id;
  auto r = co_await backend.announce(std::move(info), active);
  if (!r && r.error() != make_error_code(Errc::closed))
    warn_throttled(throttle, "presence_announce_failed", "subscriber=" + id + " error=\"" + r.error().message() + "\"");
  co_return last;
}

}  // namespace herald
