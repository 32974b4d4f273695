#pragma once
// A throwaway Apache Pulsar standalone for the C++ tests: tests/pulsar/pulsar_standalone.py run
// as a child (the jars scripts/install-pulsar.sh assembles from Maven Central, free loopback
// ports, a temp dir; gone when the fixture ends). A missing Java or jar is a failure, not a skip.
#include <cstdint>
#include <string>

#include "support/fixture_process.hpp"

namespace herald::test {

class PulsarStandalone {
 public:
  /// Starts the standalone and waits (bounded) until it serves public/default.
  PulsarStandalone();
  /// pulsar://127.0.0.1:PORT
  const std::string& url() const { return url_; }
  std::string host() const { return "127.0.0.1"; }
  std::uint16_t port() const { return port_; }
  /// "stop" (SIGTERM), "kill" (SIGKILL), "start" (waits until ready again; same ports, same data).
  void command(const std::string& line) { fixture_.command(line, 240); }

 private:
  FixtureProcess fixture_;
  std::string url_;
  std::uint16_t port_ = 0;
};

}  // namespace herald::test
