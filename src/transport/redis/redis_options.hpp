#pragma once
// The Redis transport's settings, parsed from the transport URL in the Mercure HA hub's form:
//   redis://[user:password@]host[:port]/STREAM-NAME?tls=1&max_len_approx=N&db=N
//   rediss://...   (TLS, as tls=1)
#include <cstdint>
#include <string>

#include <boost/url/url_view.hpp>

#include "core/duration.hpp"

namespace herald {

struct RedisOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string user;      ///< ACL user (AUTH user password); empty: AUTH password only
  std::string password;  ///< empty: no AUTH
  int db = 0;
  bool tls = false;
  std::string tls_ca_file;  ///< tls_ca_file=PATH: trust this CA instead of the system's
  bool tls_verify = true;   ///< tls_insecure=1 turns certificate verification off
  std::string stream = "mercure";  ///< the stream and the prefix of every other key
  std::uint64_t max_len_approx = 0;  ///< 0 keeps every update
  std::uint64_t events_size = 1000;  ///< subscription events kept in the stream, apart from max_len_approx
  Duration connect_timeout = std::chrono::seconds(5);
  Duration presence_ttl = std::chrono::seconds(15);  ///< a silent node's subscribers expire after this
};

/// Throws ConfigError (one line, naming the problem) on a bad URL.
RedisOptions parse_redis_url(const boost::urls::url_view& url);

}  // namespace herald
