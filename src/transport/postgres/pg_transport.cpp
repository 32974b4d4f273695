// The PostgreSQL transport: its parts over one shared core (one event loop, one command
// connection): pg_log (table + NOTIFY: publish, delivery, history, retention), pg_presence
// (node registry, heartbeats, reaping), pg_leases (rows with an expiry and a fencing token).
#include "transport/postgres/pg_transport.hpp"

#include "transport/postgres/pg_core.hpp"
#include "transport/postgres/pg_leases.hpp"
#include "transport/postgres/pg_log.hpp"
#include "transport/postgres/pg_presence.hpp"

namespace herald {

Transport make_pg_transport(const boost::urls::url_view& url) {
  auto core = std::make_shared<PgCore>(parse_pg_url(url));
  core->start();
  return {make_pg_log(core), make_pg_presence(core), make_pg_leases(core), {}};
}

}  // namespace herald
