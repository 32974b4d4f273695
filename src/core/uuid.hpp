#pragma once
#include <string>

namespace herald {
/// "urn:uuid:" + a random UUIDv4 (subscriber ids). Thread-safe.
std::string make_urn_uuid_v4();
/// "urn:uuid:" + a UUIDv7 (time-ordered; generated update ids, like the reference hub since v0.21). Thread-safe.
std::string make_urn_uuid_v7();
}  // namespace herald
