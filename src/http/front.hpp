#pragma once
// Internal to src/http: the front ends that are not plain HTTP/1.1 (TLS, HTTP/2). Each
// request they receive is served by the shard's ordinary HTTP/1.1 session over a socketpair
// (open_inner_session), so routing, authorization, streaming, limits and timeouts live once,
// in session.cpp and the handlers, and the plain HTTP/1.1 path is untouched.
#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "http/http_common.hpp"

namespace herald::http_detail {

/// A TLS context for the main address: `cert_file` (PEM chain) and `key_file`, ALPN "h2" then
/// "http/1.1", TLS 1.2 and up. Throws ConfigError (one line) when a file cannot be used.
std::shared_ptr<asio::ssl::context> make_tls_context(const std::string& cert_file, const std::string& key_file);

/// Starts an HTTP/1.1 session on this shard for one exchange of a front end: returns the
/// front end's end of a socketpair whose other end runs run_session with `remote` as the
/// client's address. Shard thread. Throws boost::system::system_error when no socketpair
/// can be made (out of file descriptors).
tcp::socket open_inner_session(Context ctx, std::string remote);

/// Serves one accepted TLS connection: the handshake (within read_timeout), then HTTP/2 when
/// ALPN chose "h2", else HTTP/1.1 relayed to an inner session. Shard thread; ends when the
/// connection closes. `ctx.tls` must be set.
Task<void> run_tls_connection(Context ctx, tcp::socket socket);

using TlsStream = asio::ssl::stream<tcp::socket>;

/// Serves HTTP/2 on a TLS connection whose handshake chose "h2". Shard thread.
Task<void> run_h2_over_tls(Context ctx, TlsStream& stream, std::string remote);

/// Serves an HTTP/2 connection without TLS (prior knowledge, h2c): `preread` holds the bytes
/// already read, starting with the client preface. Shard thread.
Task<void> run_h2c_connection(Context ctx, tcp::socket socket, std::string remote, std::string preread);

}  // namespace herald::http_detail
