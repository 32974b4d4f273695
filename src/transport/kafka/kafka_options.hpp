#pragma once
// The Kafka transport's settings, parsed from the transport URL in the Mercure HA hub's form:
//   kafka://kafka/?addr=host1:9092&addr=host2:9092&topic=mercure-ha&consumer_group=node-1
//                  &user=U&password=P&tls=1
// (without addr, the URL's own host:port is the broker).
#include <string>
#include <vector>

#include <boost/url/url_view.hpp>

#include "core/duration.hpp"

namespace herald {

struct KafkaOptions {
  std::vector<std::string> brokers;  ///< bootstrap servers, host:port
  std::string topic = "mercure";     ///< shared by every node
  std::string consumer_group;        ///< one per node; empty: the node id
  std::string user, password;        ///< SASL when user is set
  std::string sasl_mechanism = "PLAIN";  ///< PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
  bool tls = false;
  std::string tls_ca_file;  ///< tls_ca_file=PATH: trust this CA instead of the system's
  bool tls_verify = true;   ///< tls_insecure=1 turns certificate verification off
  Duration connect_timeout = std::chrono::seconds(5);   ///< start-up checks and history reads
  Duration publish_timeout = std::chrono::seconds(15);  ///< a publish not acknowledged by then fails
  Duration linger = std::chrono::milliseconds(2);  ///< the producer's linger.ms: publishes gathered into one request
  Duration presence_ttl{};  ///< a silent node's subscribers expire after this (zero: the hub's 15s)
};

/// Throws ConfigError (one line, naming the problem, never the password) on a bad URL.
KafkaOptions parse_kafka_url(const boost::urls::url_view& url);

}  // namespace herald
