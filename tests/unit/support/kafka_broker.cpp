#include "support/kafka_broker.hpp"

#include <stdexcept>

namespace herald::test {

KafkaBroker::KafkaBroker(int brokers)
    : fixture_("kafka", "tests/kafka/kafka_cluster.py", {"--brokers", std::to_string(brokers)}, 180) {
  if (!fixture_.info().contains("bootstrap")) throw std::runtime_error("kafka fixture failed: " + fixture_.info().dump());
  bootstrap_ = fixture_.info()["bootstrap"].get<std::string>();
}

std::string KafkaBroker::url(const std::string& topic, const std::string& query) const {
  std::string addrs;
  std::size_t start = 0;
  while (start <= bootstrap_.size()) {
    auto comma = bootstrap_.find(',', start);
    std::string one = bootstrap_.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    addrs += (addrs.empty() ? "addr=" : "&addr=") + one;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return "kafka://kafka/?" + addrs + "&topic=" + topic + (query.empty() ? "" : "&" + query);
}

}  // namespace herald::test
