#pragma once
// Presence: who is connected. When `subscriptions` is on, each connection is announced
// to the transport's presence registry (so every node can list it) and, per selector, a
// private subscription event is published (active on connect, inactive on disconnect).
#include "core/task.hpp"
#include "hub/subscriber.hpp"
#include "hub/backend.hpp"

namespace herald {

/// The presence record of a subscriber.
SubscriberInfo subscriber_info(const Subscriber& subscriber);

/// Announces (active) or withdraws (inactive) the subscriber's subscriptions. Errors are
/// logged, never thrown: a failing presence backend must not fail the subscription itself.
/// Returns the seq of the last event published (0 when none): the subscriber skips updates up
/// to it, so it never receives its own connect event (as with the reference hub, which
/// dispatches the event before adding the subscriber).
Task<Seq> announce_subscriptions(Backend& backend, SubscriberInfo info, bool active);

/// Only the subscription events (one per selector), without touching the presence registry:
/// for subscribers the registry already dropped (a dead node's, see Listener). Returns the
/// seq of the last event published (0 when none).
Task<Seq> publish_subscription_events(Backend& backend, const SubscriberInfo& info, bool active);

}  // namespace herald
