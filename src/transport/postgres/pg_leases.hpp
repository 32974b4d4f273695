#pragma once
// The PostgreSQL transport's leases: a row per lease in <t>_leases, taken with INSERT ... ON
// CONFLICT DO UPDATE only where the holder's expiry (database time) has passed; the fencing
// token comes from the <t>_lease_tokens sequence.
#include <memory>

#include "transport/leases.hpp"
#include "transport/postgres/pg_core.hpp"

namespace herald {

std::unique_ptr<Leases> make_pg_leases(std::shared_ptr<PgCore> core);

}  // namespace herald
