#pragma once
// Every authorization rule of the hub, in one place: who may publish to which topics, who may
// receive which update (topics, private updates, control records), who may read the
// subscriptions API. Callers authenticate (auth/); these decide. Shard thread (the matcher's
// cache is the shard's).
#include <string>
#include <vector>

#include "hub/subscriber.hpp"
#include "hub/topic_selector.hpp"
#include "model/update.hpp"

namespace herald {

/// A publisher whose token allows `allowed` (mercure.publish) may publish to `topics`: every
/// topic is matched by some selector. With protocol_version_compatibility 7 only private
/// updates are checked, as in the reference hub's compatibility mode.
bool may_publish(TopicMatcher& matcher, const std::vector<std::string>& allowed, const std::vector<std::string>& topics,
                 bool is_private, int protocol_version_compatibility);

/// The subscriber receives the update: some update topic matches some selector it asked for
/// and, for a private update, some update topic matches some selector of its token
/// (anonymous subscribers never see private updates). Control records reach nobody.
bool may_receive(TopicMatcher& matcher, const Subscriber& subscriber, const Update& update);

/// may_receive for a subscriber already known to have a selector matching one of the
/// update's topics (found through the shard's exact-topic index): the rest of the rule.
bool may_receive_matched(TopicMatcher& matcher, const Subscriber& subscriber, const Update& update);

/// The subscriptions API at `request_uri` for a token allowing `allowed` (mercure.subscribe).
bool may_read_subscriptions(TopicMatcher& matcher, const std::vector<std::string>& allowed,
                            const std::string& request_uri);

}  // namespace herald
