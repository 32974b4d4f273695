#pragma once
// The Redis transport's log: a Redis stream is the cluster's log and its bus.
//
// Publishing runs one Lua script (redis_scripts.hpp) that takes the next seq (INCR), appends
// the update under the entry id "<seq>-0", indexes its event id, and trims the index with the
// stream: one atomic step, so one order holds everywhere. Subscription events are bounded
// apart (events_size), so presence churn never pushes updates out.
// Every node reads the stream from the last seq it delivered (XREAD BLOCK on a connection of
// its own) and hands entries to the listener in seq order. After a disconnect it reconnects
// with backoff and resumes from that seq; seqs are dense but for subscription events that
// gave way to newer ones (recorded in P:gone), so any other hole means entries were trimmed
// before this node read them: a gap.
#include <memory>

#include "transport/log.hpp"
#include "transport/redis/redis_core.hpp"

namespace herald {

std::unique_ptr<Log> make_redis_log(std::shared_ptr<RedisCore> core);

}  // namespace herald
