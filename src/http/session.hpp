#pragma once
#include "http/http_common.hpp"

namespace herald::http_detail {
/// Serves one accepted connection until it closes. Runs on the shard's thread.
Task<void> run_session(Context ctx, tcp::socket socket);
}  // namespace herald::http_detail
