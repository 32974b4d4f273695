// The engines herald_kafka_tests runs the conformance kit on (a throwaway Kafka broker).
#include "transport/conformance_engines.hpp"

namespace herald::test {
const char* kit_engines() { return "kafka"; }
}  // namespace herald::test
