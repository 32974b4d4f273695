// Transports are registered here, explicitly, by URL scheme (static initializers would be
// dropped by the static library). Adding a transport: one folder, one line below.
#include <functional>
#include <string>
#include <utility>

#include <boost/url/parse.hpp>

#include "core/config_error.hpp"
#include "transport/lmdb/lmdb_transport.hpp"
#include "transport/local/local_transport.hpp"
#ifdef HERALD_WITH_REDIS
#include "transport/redis/redis_transport.hpp"
#endif
#ifdef HERALD_WITH_POSTGRES
#include "transport/postgres/pg_transport.hpp"
#endif
#ifdef HERALD_WITH_KAFKA
#include "transport/kafka/kafka_transport.hpp"
#endif
#include "transport/transport.hpp"

namespace herald {
namespace {
using Factory = std::function<Transport(const boost::urls::url_view&)>;

const std::pair<const char*, Factory> kTransports[] = {
    {"local", [](const boost::urls::url_view& url) { return make_local_transport(url); }},
    {"null", [](const boost::urls::url_view& url) { return make_local_transport(url); }},
    {"lmdb", [](const boost::urls::url_view& url) { return make_lmdb_transport(url, false); }},
    {"bolt", [](const boost::urls::url_view& url) { return make_lmdb_transport(url, true); }},
#ifdef HERALD_WITH_REDIS
    {"redis", [](const boost::urls::url_view& url) { return make_redis_transport(url); }},
    {"rediss", [](const boost::urls::url_view& url) { return make_redis_transport(url); }},
#endif
#ifdef HERALD_WITH_POSTGRES
    {"postgres", [](const boost::urls::url_view& url) { return make_pg_transport(url); }},
    {"postgresql", [](const boost::urls::url_view& url) { return make_pg_transport(url); }},
#endif
#ifdef HERALD_WITH_KAFKA
    {"kafka", [](const boost::urls::url_view& url) { return make_kafka_transport(url); }},
#endif
};
}  // namespace

Transport make_transport(const std::string& text) {
  auto url = boost::urls::parse_uri(text);
  if (!url) throw ConfigError("invalid transport_url: \"" + text + "\" is not a URL");
  for (const auto& [scheme, factory] : kTransports)
    if (url->scheme() == scheme) return factory(*url);
  std::string supported;
  for (const auto& [scheme, factory] : kTransports) supported += (supported.empty() ? "" : ", ") + std::string(scheme) + "://";
  throw ConfigError("invalid transport_url: unsupported scheme \"" + std::string(url->scheme()) +
                    "\" (supported by this build: " + supported + ")");
}

}  // namespace herald
