#pragma once
// The Pulsar transport's settings, parsed from the transport URL in the Mercure HA hub's form:
//   pulsar://host:6650?topic=mercure-ha&subscription_name=node-1
//   pulsar+ssl://host:6651?topic=mercure-ha&tls_ca_file=/etc/ca.pem&token=JWT
// A short topic name means persistent://public/default/<name>.
#include <cstdint>
#include <string>

#include <boost/url/url_view.hpp>

#include "core/duration.hpp"

namespace herald {

struct PulsarOptions {
  std::string host;                  ///< the service URL's host (a lookup may send us elsewhere)
  std::uint16_t port = 6650;         ///< 6650, or 6651 with pulsar+ssl
  bool tls = false;                  ///< pulsar+ssl://
  std::string tls_ca_file;           ///< trust this CA instead of the system's (pulsar+ssl)
  std::string topic = "persistent://public/default/mercure";  ///< full name, shared by every node
  std::string subscription_name;     ///< one per node; empty: the node id
  std::string token;                 ///< Pulsar's JWT authentication ("token" method); never logged
  Duration connect_timeout = std::chrono::seconds(5);   ///< connect, lookup, producer, start-up checks
  Duration publish_timeout = std::chrono::seconds(15);  ///< a publish without a receipt by then fails
  Duration presence_ttl{};  ///< a silent node's subscribers expire after this (zero: the hub's 15s)
};

/// The full topic name: "persistent://public/default/<name>" for a short name; a full
/// persistent:// name as given. Throws ConfigError on anything else.
std::string pulsar_topic_name(const std::string& name);

/// Throws ConfigError (one line naming the problem, never the token) on a bad URL.
PulsarOptions parse_pulsar_url(const boost::urls::url_view& url);

}  // namespace herald
