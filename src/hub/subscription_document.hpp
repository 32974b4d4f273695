#pragma once
// The JSON-LD documents of the subscriptions feature, byte for byte as the reference hub
// writes them (Go's json.MarshalIndent with two spaces: struct field order, map keys of
// the payload sorted, and <, >, & escaped as \u003c, \u003e, \u0026).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transport/transport.hpp"

namespace herald {

/// Go's url.QueryEscape: everything but [A-Za-z0-9-_.~] as %XX, and space as '+'.
std::string query_escape(std::string_view s);
/// The inverse (url.QueryUnescape); nullopt on a malformed escape.
std::optional<std::string> query_unescape(std::string_view s);

/// "/.well-known/mercure/subscriptions/{escaped selector}/{escaped subscriber id}".
std::string subscription_topic(std::string_view selector, std::string_view subscriber_id);

/// One subscription (a subscriber and one of its selectors).
struct SubscriptionView {
  std::string subscriber;
  std::string topic;
  std::string payload_json;  ///< empty when the subscriber's token had no payload
  bool active = true;
};

/// The event published when a subscription starts or ends (with "@context").
std::string subscription_event_document(const SubscriptionView& s);

/// GET /.well-known/mercure/subscriptions[/{topic}]: the collection.
std::string subscription_collection_document(std::string_view request_uri, std::string_view last_event_id,
                                             const std::vector<SubscriptionView>& subscriptions);

/// GET /.well-known/mercure/subscriptions/{topic}/{subscriber}: one subscription.
std::string subscription_single_document(const SubscriptionView& s, std::string_view last_event_id);

/// Every (subscriber, selector) pair of `subscribers`, optionally only the selector `topic`.
std::vector<SubscriptionView> subscriptions_of(const std::vector<SubscriberInfo>& subscribers,
                                               const std::optional<std::string>& topic);

}  // namespace herald
