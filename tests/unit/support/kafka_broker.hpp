#pragma once
// Throwaway Apache Kafka brokers for the C++ tests: tests/kafka/kafka_cluster.py started as a
// child (it formats and starts 1..N KRaft brokers on free loopback ports in a temp dir, and
// stops them and removes the dir when its input ends). A missing Java or broker jar is a test
// failure, never a skip.
#include <string>

#include "support/fixture_process.hpp"

namespace herald::test {

class KafkaBroker {
 public:
  /// Starts `brokers` brokers and waits (bounded) until every one answers. Throws on failure.
  explicit KafkaBroker(int brokers = 1);

  /// host:port,... of every broker.
  const std::string& bootstrap() const { return bootstrap_; }
  /// A kafka:// transport URL for `topic`, with more query parameters.
  std::string url(const std::string& topic, const std::string& query = "") const;
  /// "kill I", "stop I", "start I" (waits until it answers): throws unless the fixture says ok.
  void command(const std::string& line) { fixture_.command(line); }

 private:
  FixtureProcess fixture_;
  std::string bootstrap_;
};

}  // namespace herald::test
