// The engines herald_unit_tests runs the conformance kit on (no engine server needed).
#include "transport/conformance_engines.hpp"

namespace herald::test {
const char* kit_engines() { return "local,lmdb,generic"; }
}  // namespace herald::test
