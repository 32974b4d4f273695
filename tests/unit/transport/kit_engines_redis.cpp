// The engines herald_redis_tests runs the conformance kit on (a throwaway redis-server).
#include "transport/conformance_engines.hpp"

namespace herald::test {
const char* kit_engines() { return "redis"; }
}  // namespace herald::test
