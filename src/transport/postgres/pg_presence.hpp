#pragma once
// The PostgreSQL transport's presence and node registry: <t>_nodes (one row per node, its
// heartbeat in database time, so node clocks do not matter) and <t>_subscribers (a row per
// subscriber). A node silent for presence_ttl is reaped by whichever node's DELETE ...
// RETURNING removes its rows first: each dead node's subscribers are handed over once.
#include <memory>

#include "transport/postgres/pg_core.hpp"
#include "transport/presence_registry.hpp"

namespace herald {

std::unique_ptr<PresenceRegistry> make_pg_presence(std::shared_ptr<PgCore> core);

}  // namespace herald
