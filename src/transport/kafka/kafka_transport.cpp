// The Kafka transport: one core (handles, loop, pool) and the log over it; the hub supplies
// the id index, presence and leases over that log (hub/backend.hpp).
#include "transport/kafka/kafka_transport.hpp"

#include "core/uuid.hpp"
#include "transport/kafka/kafka_core.hpp"
#include "transport/kafka/kafka_log.hpp"

namespace herald {

Transport make_kafka_transport(const boost::urls::url_view& url) {
  auto options = parse_kafka_url(url);
  std::string node_id = make_urn_uuid_v4().substr(9);
  Duration presence_ttl = options.presence_ttl;
  auto core = std::make_shared<KafkaCore>(std::move(options), node_id);
  core->start();
  Transport transport{make_kafka_log(core), nullptr, nullptr, node_id};
  transport.presence_ttl = presence_ttl;
  return transport;
}

}  // namespace herald
