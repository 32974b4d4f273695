// The Redis transport: its parts over one shared core (one event loop, one command
// connection): redis_log (the stream: publish, bus, history), redis_presence (node registry,
// heartbeats, reaping), redis_leases (SET NX PX with a fencing token).
#include "transport/redis/redis_transport.hpp"

#include "transport/redis/redis_core.hpp"
#include "transport/redis/redis_leases.hpp"
#include "transport/redis/redis_log.hpp"
#include "transport/redis/redis_presence.hpp"

namespace herald {

Transport make_redis_transport(const boost::urls::url_view& url) {
  auto core = std::make_shared<RedisCore>(parse_redis_url(url));
  core->start();
  return {make_redis_log(core), make_redis_presence(core), make_redis_leases(core), {}};
}

}  // namespace herald
