#include "hub/subscription_document.hpp"

#include <nlohmann/json.hpp>

namespace herald {
namespace {
using Ordered = nlohmann::ordered_json;

constexpr std::string_view kContext = "https://mercure.rocks/";
constexpr std::string_view kSubscriptionsPath = "/.well-known/mercure/subscriptions";

/// Go's encoding/json escapes these even inside MarshalIndent output; they can only occur
/// inside JSON strings, so replacing them in the serialized text is exact.
std::string go_html_escape(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else if (c == '\xE2' && i + 2 < in.size() && in[i + 1] == '\x80' && (in[i + 2] == '\xA8' || in[i + 2] == '\xA9')) {
      out += in[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else out.push_back(c);
  }
  return out;
}

/// Go decodes the payload into map[string]any and re-encodes it: object keys come out sorted.
Ordered parse_payload(const std::string& payload_json) {
  auto parsed = nlohmann::json::parse(payload_json, nullptr, false);
  if (parsed.is_discarded()) return Ordered();
  // nlohmann::json keeps keys sorted
  return Ordered::parse(parsed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

/// One subscriber's events (one per selector) carry the same payload: parsed once per run.
Ordered payload_value(const std::string& payload_json) {
  thread_local std::string last_json;
  thread_local Ordered last_value;
  if (payload_json != last_json) {
    last_value = parse_payload(payload_json);
    last_json = payload_json;
  }
  return last_value;
}

Ordered item(const SubscriptionView& s, bool with_context) {
  Ordered o;
  if (with_context) o["@context"] = kContext;
  o["id"] = subscription_topic(s.topic, s.subscriber);
  o["type"] = "Subscription";
  o["subscriber"] = s.subscriber;
  o["topic"] = s.topic;
  o["active"] = s.active;
  if (!s.payload_json.empty()) {
    auto p = payload_value(s.payload_json);
    if (!p.is_null()) o["payload"] = std::move(p);
  }
  return o;
}

// Invalid UTF-8 (a topic such as "%FF") becomes U+FFFD, as Go's encoding/json writes it;
// dump() would otherwise throw on the data path.
std::string render(const Ordered& o) {
  return go_html_escape(o.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
}
}  // namespace

std::string query_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::optional<std::string> query_unescape(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') out.push_back(' ');
    else if (s[i] == '%') {
      if (i + 2 >= s.size() || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0) return std::nullopt;
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else out.push_back(s[i]);
  }
  return out;
}

std::string subscription_topic(std::string_view selector, std::string_view subscriber_id) {
  std::string out(kSubscriptionsPath);
  out += '/';
  out += query_escape(selector);
  out += '/';
  out += query_escape(subscriber_id);
  return out;
}

std::string subscription_event_document(const SubscriptionView& s) { return render(item(s, true)); }

std::string subscription_collection_document(std::string_view request_uri, std::string_view last_event_id,
                                             const std::vector<SubscriptionView>& subscriptions) {
  Ordered o;
  o["@context"] = kContext;
  o["id"] = request_uri;
  o["type"] = "Subscriptions";
  o["lastEventID"] = last_event_id;
  o["subscriptions"] = Ordered::array();
  for (const auto& s : subscriptions) o["subscriptions"].push_back(item(s, false));
  return render(o);
}

std::string subscription_single_document(const SubscriptionView& s, std::string_view last_event_id) {
  Ordered o = item(s, true);
  o["lastEventID"] = last_event_id;
  return render(o);
}

std::vector<SubscriptionView> subscriptions_of(const std::vector<SubscriberInfo>& subscribers,
                                               const std::optional<std::string>& topic) {
  std::vector<SubscriptionView> out;
  for (const auto& s : subscribers)
    for (const auto& t : s.topics)
      if (!topic || *topic == t) out.push_back({s.id, t, s.payload_json, true});
  return out;
}

}  // namespace herald
