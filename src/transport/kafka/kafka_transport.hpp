#pragma once
#include <boost/url/url_view.hpp>

#include "transport/transport.hpp"

namespace herald {
/// Cluster transport over Apache Kafka, in the Mercure HA hub's URL form:
///   kafka://kafka/?addr=host1:9092&addr=host2:9092&topic=mercure-ha&consumer_group=<per node>
///                 &user=U&password=P&tls=1
/// further parameters: sasl_mechanism=PLAIN|SCRAM-SHA-256|SCRAM-SHA-512, tls_ca_file=PATH,
/// tls_insecure=1, connect_timeout=5s, publish_timeout=15s, presence_ttl=15s.
/// The log is Kafka's (kafka_log.hpp); the id index, presence and leases are the hub's,
/// carried over that log. Throws ConfigError on a bad URL, refused credentials or TLS, or a
/// missing topic the brokers will not create; unreachable brokers are not an error at start
/// (the node reports unhealthy and keeps retrying).
Transport make_kafka_transport(const boost::urls::url_view& url);
}  // namespace herald
