#pragma once
// One node of a cluster in a unit test: a Backend (the hub's view of the transport: its parts
// plus the generic id index and presence where the engine lacks them) over a transport made
// from a URL, with an event loop thread of its own for the backend's timers and background
// work, and a flow gate. Its methods forward to the Backend; coroutines run on the caller's
// executor (tests drive them with test::run_task).
#include <memory>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "hub/backend.hpp"
#include "transport/transport.hpp"

namespace herald::test {

class Node {
 public:
  explicit Node(Transport transport, BackendOptions options = {})
      : thread_([this] { io_.run(); }),
        backend_(std::make_unique<Backend>(std::move(transport), std::move(options), io_.get_executor())) {}
  explicit Node(const std::string& url, BackendOptions options = {}) : Node(make_transport(url), std::move(options)) {}
  ~Node() {
    close_now();
    backend_.reset();
    work_.reset();
    io_.stop();
    thread_.join();
  }
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  Backend& backend() { return *backend_; }
  FlowGate& gate() { return gate_; }

  Task<Result<void>> listen(Listener& listener) { return backend_->listen(listener, gate_); }
  Task<Result<Seq>> publish(UpdatePtr u) { return backend_->publish(std::move(u)); }
  Task<Result<Seq>> find(std::string id) { return backend_->find(std::move(id)); }
  Task<Result<std::vector<Stored>>> read_after(Seq after, std::size_t limit) {
    return backend_->read_after(after, limit);
  }
  Task<Result<Seq>> head() { return backend_->head(); }
  Task<Result<Seq>> earliest() { return backend_->earliest(); }
  Task<Result<std::string>> last_event_id() { return backend_->last_event_id(); }
  Task<Result<void>> announce(SubscriberInfo s, bool online) { return backend_->announce(std::move(s), online); }
  Task<Result<std::vector<SubscriberInfo>>> presence() { return backend_->presence(); }
  Task<Result<std::vector<NodeInfo>>> nodes() { return backend_->nodes(); }
  void describe(std::string address) { backend_->describe_node(std::move(address)); }
  Leases& leases() { return backend_->leases(); }
  bool healthy() const { return backend_->healthy(); }
  Task<void> close() { return backend_->close(); }
  /// Closes the backend from the node's own loop (blocking, bounded).
  void close_now() {
    if (!backend_) return;
    boost::asio::co_spawn(io_, backend_->close(), boost::asio::use_future).wait_for(std::chrono::seconds(10));
  }

 private:
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  std::thread thread_;
  FlowGate gate_{1u << 20, 1u << 19};
  std::unique_ptr<Backend> backend_;
};

}  // namespace herald::test
