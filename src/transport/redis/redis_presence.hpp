#pragma once
// The Redis transport's presence registry. Each node keeps its subscribers in a hash of its
// own and heartbeats into a sorted set (Redis server time, so node clocks do not matter). A
// node silent for longer than presence_ttl is reaped by a script that hands its subscribers
// to exactly one caller, which tells its PresenceListener (the "inactive" events).
#include <memory>

#include "transport/presence_registry.hpp"
#include "transport/redis/redis_core.hpp"

namespace herald {

/// Starts heartbeating, and returns once the first heartbeat is in (connect_timeout at most),
/// so the node is listed from the moment it starts. Not on the core's thread.
std::unique_ptr<PresenceRegistry> make_redis_presence(std::shared_ptr<RedisCore> core);

}  // namespace herald
