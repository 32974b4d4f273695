#include "hub/presence.hpp"

#include "core/logging.hpp"
#include "core/uuid.hpp"
#include "hub/subscription_document.hpp"

namespace herald {

SubscriberInfo subscriber_info(const Subscriber& s) {
  SubscriberInfo info;
  info.id = s.id;
  info.topics = s.topics;
  if (s.payload) info.payload_json = s.payload->dump();
  return info;
}

Task<Seq> publish_subscription_events(Transport& transport, const SubscriberInfo& info, bool active) {
  Seq last = 0;
  for (const auto& selector : info.topics) {
    auto update = std::make_shared<Update>();
    update->id = make_urn_uuid_v7();
    update->topics = {subscription_topic(selector, info.id)};
    update->data = subscription_event_document({info.id, selector, info.payload_json, active});
    update->is_private = true;
    auto r = co_await transport.publish(std::move(update));
    if (r) last = *r;
    if (!r && r.error() != make_error_code(Errc::closed))
      logger("presence")->warn("subscription_event_failed error=\"{}\"", r.error().message());
  }
  co_return last;
}

Task<Seq> announce_subscriptions(Transport& transport, SubscriberInfo info, bool active) {
  Seq last = co_await publish_subscription_events(transport, info, active);
  std::string id = info.id;
  auto r = co_await transport.announce(std::move(info), active);
  if (!r && r.error() != make_error_code(Errc::closed))
    logger("presence")->warn("presence_announce_failed subscriber={} error=\"{}\"", id, r.error().message());
  co_return last;
}

}  // namespace herald
