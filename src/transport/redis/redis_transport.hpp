#pragma once
#include <memory>

#include <boost/url/url_view.hpp>

#include "transport/transport.hpp"

namespace herald {
/// Cluster transport over one Redis (or Valkey) server, in the Mercure HA hub's URL form:
///   redis://[user:password@]host[:port]/STREAM-NAME?max_len_approx=N&tls=1&db=N
///   rediss://...  (TLS)
/// further parameters: tls_ca_file=PATH, tls_insecure=1, connect_timeout=5s, presence_ttl=15s.
/// Throws ConfigError on a bad URL or when Redis refuses the credentials; an unreachable Redis
/// is not an error at start (the node reports unhealthy and keeps retrying).
Transport make_redis_transport(const boost::urls::url_view& url);
}  // namespace herald
