#pragma once
// The PostgreSQL transport's settings, parsed from the transport URL:
//   postgres://[user[:password]@]host[:port]/DATABASE?sslmode=require&size=N&...
//   postgresql://...
// Every libpq connection parameter (sslmode, sslrootcert, connect_timeout, application_name,
// ...) passes through as a query parameter; Herald's own (below) are taken out first.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/url/url_view.hpp>

#include "core/duration.hpp"

namespace herald {

struct PgOptions {
  /// libpq keyword/value pairs for the main connections (PQconnectStartParams).
  std::vector<std::pair<std::string, std::string>> conninfo;
  /// The LISTEN connection's pairs: listen_url's when given (a direct, non-pooled connection
  /// beside a transaction-pooling PgBouncer), else conninfo's.
  std::vector<std::pair<std::string, std::string>> listen_conninfo;
  std::string host_for_logs;  ///< host:port/database, never the password
  std::string table = "herald";  ///< the prefix of every table, function and channel name
  std::uint64_t size = 0;        ///< updates kept; 0 keeps every update
  Duration max_age = Duration::zero();  ///< updates older than this are removed; 0 keeps them
  std::uint64_t events_size = 1000;     ///< subscription events kept, apart from `size`
  Duration connect_timeout = std::chrono::seconds(5);
  Duration presence_ttl = std::chrono::seconds(15);
  Duration poll_interval = std::chrono::seconds(1);  ///< the safety poll beside LISTEN
  std::size_t batch_max = 1000;                      ///< updates in one group commit at most
};

/// Throws ConfigError (one line, naming the problem, never the password) on a bad URL.
PgOptions parse_pg_url(const boost::urls::url_view& url);

}  // namespace herald
