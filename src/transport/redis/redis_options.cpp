#include "transport/redis/redis_options.hpp"

#include "transport/url_params.hpp"

namespace herald {
using url_params::bad;
using url_params::flag;
using url_params::number;

RedisOptions parse_redis_url(const boost::urls::url_view& url) {
  RedisOptions o;
  o.tls = url.scheme() == "rediss";
  if (!url.has_authority() || url.host().empty()) bad("missing the Redis host (redis://host:port/stream)");
  o.host = url.host_address();  // IPv6 literals without their brackets
  if (url.has_port()) {
    if (url.port().empty()) {
      // Boost.URL reads "host:notaport/..." as an empty port: name what was written.
      std::string_view text = url.buffer();
      auto start = text.find("://");
      start = start == std::string_view::npos ? 0 : start + 3;
      auto end = text.find_first_of("/?#", start);
      std::string_view authority = text.substr(start, end == std::string_view::npos ? end : end - start);
      if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
      auto colon = authority.rfind(':');
      std::string_view port = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon + 1);
      if (port.empty()) bad("the Redis port is empty");
      bad("the Redis port \"" + std::string(port) + "\" is not a number");
    }
    o.port = static_cast<std::uint16_t>(number("port", std::string(url.port()), 65535));
    if (o.port == 0) bad("port must be between 1 and 65535");
  }
  if (url.has_userinfo()) {
    o.user = url.user();
    o.password = url.password();
    // redis://:password@host is the password-only form (no ACL user).
    if (!url.has_password()) std::swap(o.user, o.password);
  }
  std::string path = url.path();
  while (!path.empty() && path.front() == '/') path.erase(0, 1);
  if (!path.empty()) o.stream = path;
  if (o.stream.find_first_of("{} \r\n") != std::string::npos)
    bad("the stream name must not contain braces, spaces or line breaks");

  for (auto param : url.params()) {
    const std::string& k = param.key;
    const std::string& v = param.value;
    if (k == "tls") o.tls = flag(k, v) || url.scheme() == "rediss";
    else if (k == "max_len_approx") o.max_len_approx = number(k, v, std::uint64_t(1) << 62);
    else if (k == "events_size") o.events_size = number(k, v, std::uint64_t(1) << 32);
    else if (k == "db") o.db = static_cast<int>(number(k, v, 65535));
    else if (k == "tls_ca_file") o.tls_ca_file = v;
    else if (k == "tls_insecure") o.tls_verify = !flag(k, v);
    else if (k == "connect_timeout" || k == "presence_ttl") {
      (k == "connect_timeout" ? o.connect_timeout : o.presence_ttl) = url_params::duration(k, v, false);
    } else {
      bad("unknown parameter \"" + k + "\" for redis:// (known: tls, max_len_approx, events_size, db, tls_ca_file, "
          "tls_insecure, connect_timeout, presence_ttl)");
    }
  }
  if (o.presence_ttl < std::chrono::seconds(1)) bad("presence_ttl must be at least 1s");
  return o;
}

}  // namespace herald
