#pragma once
// The Redis transport's leases: SET NX PX on "<P>:lease:<name>", the fencing token from INCR
// on "<P>:lease:<name>:fence", both in one script so a grant and its token are one step.
#include <memory>

#include "transport/leases.hpp"
#include "transport/redis/redis_core.hpp"

namespace herald {

std::unique_ptr<Leases> make_redis_leases(std::shared_ptr<RedisCore> core);

}  // namespace herald
