#include "hub/authorization.hpp"

#include <algorithm>

namespace herald {

bool may_publish(TopicMatcher& matcher, const std::vector<std::string>& allowed, const std::vector<std::string>& topics,
                 bool is_private, int compat) {
  if (compat == 7 && !is_private) return true;
  return std::all_of(topics.begin(), topics.end(), [&](const std::string& topic) {
    return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& s) { return matcher.match(s, topic); });
  });
}

bool may_receive(TopicMatcher& matcher, const Subscriber& s, const Update& u) {
  if (u.control) return false;
  if (!matcher.match_any(s.topics, u.topics)) return false;
  return may_receive_matched(matcher, s, u);
}

bool may_receive_matched(TopicMatcher& matcher, const Subscriber& s, const Update& u) {
  if (u.control) return false;
  if (!u.is_private) return true;
  if (!s.may_see) return false;
  return matcher.match_any(*s.may_see, u.topics);
}

bool may_read_subscriptions(TopicMatcher& matcher, const std::vector<std::string>& allowed,
                            const std::string& request_uri) {
  return matcher.match_any(allowed, std::vector<std::string>{request_uri});
}

}  // namespace herald
