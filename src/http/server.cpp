#include "http/server.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/logging.hpp"
#include "http/front.hpp"
#include "http/session.hpp"

namespace herald {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using http_detail::Context;

namespace {

tcp::endpoint resolve(const std::string& addr, const std::string& what = "addr") {
  auto colon = addr.rfind(':');
  std::string host = addr.substr(0, colon);
  std::string port = addr.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (port == "http") port = "80";
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
      std::stoul(port) > 65535)
    throw ConfigError("invalid " + what + ": bad port in \"" + addr + "\"");
  auto p = static_cast<unsigned short>(std::stoul(port));
  if (host.empty()) return {tcp::v6(), p};
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (!ec) return {ip, p};
  asio::io_context io;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(host, port, ec);
  if (ec || results.empty()) throw ConfigError("invalid " + what + ": cannot resolve host \"" + host + "\"");
  return results.begin()->endpoint();
}

Task<void> accept_loop(tcp::acceptor& acceptor, Context ctx) {
  auto log = logger("http");
  asio::steady_timer backoff(acceptor.get_executor());
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of file descriptors and similar: do not spin; the hub keeps serving.
      log->warn("accept_failed error=\"{}\"", ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (ctx.tls)
      asio::co_spawn(acceptor.get_executor(), http_detail::run_tls_connection(ctx, std::move(socket)), asio::detached);
    else
      asio::co_spawn(acceptor.get_executor(), http_detail::run_session(ctx, std::move(socket)), asio::detached);
  }
}
}  // namespace

struct Server::Impl {
  Hub& hub;
  Authenticator& auth;
  const Config& config;
  std::string addr;
  Health* admin = nullptr;
  Health* health = nullptr;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::shared_ptr<asio::ssl::context> tls;  ///< the main address with cert_file/key_file
};

Server::Server(Hub& hub, Authenticator& auth, const Config& config, Health* health)
    : impl_(std::make_unique<Impl>(Impl{hub, auth, config, config.addr, nullptr, health, {}, nullptr})) {
  if (!config.cert_file.empty()) impl_->tls = http_detail::make_tls_context(config.cert_file, config.key_file);
}

Server::Server(Hub& hub, Authenticator& auth, const Config& config, std::string addr, Health& admin)
    : impl_(std::make_unique<Impl>(Impl{hub, auth, config, std::move(addr), &admin, nullptr, {}, nullptr})) {}

Server::~Server() = default;

unsigned short Server::listen() {
  tcp::endpoint endpoint = resolve(impl_->addr, impl_->admin ? "admin_addr" : "addr");
  bool dual_stack = endpoint.address().is_v6() && endpoint.address().is_unspecified();
  // One listening socket, bound exclusively (a second hub on the same port fails with
  // "address in use" instead of silently taking half the connections, which SO_REUSEPORT
  // would allow for the same user, even for port 0). Every shard accepts on its own
  // duplicate of the descriptor, so each connection still lives on one shard's thread.
  Shard& first_shard = impl_->hub.shard(0);
  auto first = std::make_unique<tcp::acceptor>(first_shard.context());
  boost::system::error_code ec;
  auto open_bind = [&](const tcp::endpoint& ep) {
    first->close(ec);
    first->open(ep.protocol(), ec);
    if (ec) return;
    if (ep.address().is_v6()) first->set_option(asio::ip::v6_only(false), ec);
    first->set_option(tcp::acceptor::reuse_address(true), ec);
    first->bind(ep, ec);
    if (!ec) first->listen(asio::socket_base::max_listen_connections, ec);
  };
  open_bind(endpoint);
  if (ec && dual_stack) open_bind(tcp::endpoint(tcp::v4(), endpoint.port()));  // no IPv6 here
  if (ec) throw std::runtime_error("cannot listen on " + impl_->addr + ": " + ec.message());
  unsigned short port = first->local_endpoint().port();
  auto protocol = first->local_endpoint().protocol();
  impl_->acceptors.push_back(std::move(first));
  for (std::size_t i = 1; i < impl_->hub.shard_count(); ++i) {
    int fd = ::dup(impl_->acceptors[0]->native_handle());
    if (fd < 0) throw std::runtime_error("cannot share the listening socket: " + std::string(std::strerror(errno)));
    auto acceptor = std::make_unique<tcp::acceptor>(impl_->hub.shard(i).context());
    acceptor->assign(protocol, fd, ec);
    if (ec) throw std::runtime_error("cannot share the listening socket: " + ec.message());
    impl_->acceptors.push_back(std::move(acceptor));
  }
  for (std::size_t i = 0; i < impl_->acceptors.size(); ++i) {
    Shard& shard = impl_->hub.shard(i);
    Context ctx{impl_->hub, shard, impl_->auth, impl_->config, impl_->admin, impl_->health, impl_->tls.get()};
    asio::co_spawn(shard.context(), accept_loop(*impl_->acceptors[i], ctx), asio::detached);
  }
  return port;
}

void Server::validate_addr(const std::string& addr, const std::string& what) { (void)resolve(addr, what); }

void Server::stop_accepting() {
  for (std::size_t i = 0; i < impl_->acceptors.size(); ++i) {
    auto* acceptor = impl_->acceptors[i].get();
    asio::post(impl_->hub.shard(i).context(), [acceptor] {
      boost::system::error_code ec;
      acceptor->close(ec);
    });
  }
}

}  // namespace herald
