// The engines herald_postgres_tests runs the conformance kit on (a throwaway PostgreSQL).
#include "transport/conformance_engines.hpp"

namespace herald::test {
const char* kit_engines() { return "postgres"; }
}  // namespace herald::test
