#pragma once
#include "http/http_common.hpp"

namespace herald::http_detail {
/// Serves one accepted connection until it closes. Runs on the shard's thread. `remote`: the
/// client's address when the socket is not the client's own (a front end's inner session);
/// empty: asked of the socket. A plain connection that opens with the HTTP/2 preface is
/// handed to the h2c front end (prior knowledge).
Task<void> run_session(Context ctx, tcp::socket socket, std::string remote = {});
}  // namespace herald::http_detail
