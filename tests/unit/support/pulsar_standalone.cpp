#include "support/pulsar_standalone.hpp"

#include <stdexcept>

namespace herald::test {

PulsarStandalone::PulsarStandalone() : fixture_("pulsar", "tests/pulsar/pulsar_standalone.py", {}, 900) {
  if (!fixture_.info().contains("url")) throw std::runtime_error("pulsar fixture failed: " + fixture_.info().dump());
  url_ = fixture_.info()["url"].get<std::string>();
  port_ = static_cast<std::uint16_t>(std::stoi(url_.substr(url_.rfind(':') + 1)));
}

}  // namespace herald::test
