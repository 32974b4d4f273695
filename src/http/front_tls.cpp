// TLS on the main address (OpenSSL through asio::ssl): the handshake, ALPN, and HTTP/1.1
// over TLS as a byte relay to an inner HTTP/1.1 session (see front.hpp).
#include <sys/socket.h>

#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>

#include "core/logging.hpp"
#include "http/front.hpp"
#include "http/session.hpp"

namespace herald::http_detail {
namespace {
namespace ssl = asio::ssl;
using namespace asio::experimental::awaitable_operators;

/// ALPN: "h2" when the client offers it, else "http/1.1"; a client that offers neither
/// gets no ALPN answer and speaks HTTP/1.1.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void*) {
  static const unsigned char kProtocols[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kProtocols, sizeof kProtocols, in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

/// A deadline for one operation: closes the socket when it fires (the operation then fails).
struct Deadline {
  asio::steady_timer timer;
  Deadline(tcp::socket& socket, Duration d) : timer(socket.get_executor()) {
    if (d <= Duration::zero()) return;
    timer.expires_after(d);
    timer.async_wait([&socket](boost::system::error_code ec) {
      if (ec) return;
      boost::system::error_code ignored;
      socket.close(ignored);
    });
  }
  ~Deadline() { timer.cancel(); }
};

/// Client → inner session: what the client sends, as it comes. At the client's end of
/// data, the inner session sees end of data too.
Task<void> client_to_inner(TlsStream& tls, tcp::socket& inner) {
  std::array<char, 16384> buf;
  for (;;) {
    auto [ec, n] = co_await tls.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    auto [wec, wn] = co_await asio::async_write(inner, asio::buffer(buf.data(), n), asio::as_tuple(asio::use_awaitable));
    if (wec) break;
  }
  boost::system::error_code ignored;
  inner.shutdown(tcp::socket::shutdown_send, ignored);
}

/// Inner session → client: the responses (SSE streams included), each write within
/// dispatch_timeout (a client that stops reading is disconnected, as over plain HTTP).
/// When the inner session closes, so does the connection.
Task<void> inner_to_client(TlsStream& tls, tcp::socket& inner, Duration write_deadline) {
  std::array<char, 16384> buf;
  for (;;) {
    auto [ec, n] = co_await inner.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    Deadline deadline(tls.next_layer(), write_deadline);
    auto [wec, wn] = co_await asio::async_write(tls, asio::buffer(buf.data(), n), asio::as_tuple(asio::use_awaitable));
    if (wec) break;
  }
  // No close_notify: its exchange would read while client_to_inner reads. Every response
  // Herald sends is delimited (Content-Length, or a terminal chunk), so no truncation is hidden.
  boost::system::error_code ignored;
  tls.next_layer().close(ignored);  // ends client_to_inner's read
  inner.close(ignored);
}

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const std::string& cert_file, const std::string& key_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) throw ConfigError("invalid cert_file: cannot use " + cert_file + " (" + ec.message() + ")");
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) throw ConfigError("invalid key_file: cannot use " + key_file + " (" + ec.message() + ")");
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    throw ConfigError("invalid key_file: " + key_file + " does not match the certificate of " + cert_file);
  SSL_CTX_set_alpn_select_cb(ctx->native_handle(), select_alpn, nullptr);
  return ctx;
}

tcp::socket open_inner_session(Context ctx, std::string remote) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw boost::system::system_error(errno, boost::system::system_category(), "socketpair");
  // Asio's TCP socket carries the Unix socket: only reads, writes, shutdown and close are
  // used on it (run_session is given the client's address instead of asking the socket).
  tcp::socket inner(ctx.shard.context()), outer(ctx.shard.context());
  inner.assign(tcp::v4(), fds[0]);
  outer.assign(tcp::v4(), fds[1]);
  asio::co_spawn(ctx.shard.context(), run_session(ctx, std::move(inner), std::move(remote)), asio::detached);
  return outer;
}

Task<void> run_tls_connection(Context ctx, tcp::socket socket) {
  static const auto log = logger("http");
  std::string remote = peer_address(socket);
  TlsStream tls(std::move(socket), *ctx.tls);
  TrackedConnection tracked(ctx.shard, [&tls] {
    boost::system::error_code e;
    tls.next_layer().close(e);
  });
  {
    Deadline deadline(tls.next_layer(), ctx.config.read_timeout > Duration::zero() ? ctx.config.read_timeout
                                                                                   : Duration(std::chrono::seconds(10)));
    auto [ec] = co_await tls.async_handshake(ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
    if (ec) {
      log->debug("tls_handshake_failed remote={} error=\"{}\"", remote, ec.message());
      co_return;
    }
  }
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(tls.native_handle(), &alpn, &alpn_len);
  if (alpn_len == 2 && alpn[0] == 'h' && alpn[1] == '2') {
    co_await run_h2_over_tls(ctx, tls, std::move(remote));
    co_return;
  }
  tcp::socket inner = open_inner_session(ctx, remote);
  co_await (client_to_inner(tls, inner) && inner_to_client(tls, inner, ctx.config.dispatch_timeout));
}

}  // namespace herald::http_detail
