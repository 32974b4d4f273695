#pragma once
#include <boost/url/url_view.hpp>

#include "transport/transport.hpp"

namespace herald {
/// Cluster transport over one PostgreSQL database:
///   postgres://[user[:password]@]host[:port]/DATABASE?size=N&max_age=1h&sslmode=require
/// further parameters: table, events_size, listen_url, presence_ttl, poll_interval,
/// connect_timeout, batch_max, and any libpq connection parameter. Throws ConfigError on a
/// bad URL or when PostgreSQL refuses the login; an unreachable server is not an error at
/// start (the node reports unhealthy and keeps retrying).
Transport make_pg_transport(const boost::urls::url_view& url);
}  // namespace herald
