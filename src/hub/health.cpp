#include "hub/health.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "hub/hub.hpp"

namespace herald {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::string HealthReport::json() const {
  nlohmann::json j{{"status", ready() ? "ready" : "unavailable"},
                   {"checks",
                    {{"probed", probed},
                     {"engine", engine},
                     {"bus", {{"ok", bus}, {"delivered", delivered}, {"head", head}}},
                     {"nodes", {{"ok", registry && nodes_alive >= min_nodes}, {"alive", nodes_alive}, {"min", min_nodes}}},
                     {"draining", draining}}}};
  return j.dump() + "\n";
}

Health::Health(Hub& hub, HealthOptions options) : hub_(hub), options_(options) {
  report_.min_nodes = options_.min_nodes;
  done_.set();
}

Health::~Health() { stop(); }

void Health::start() {
  done_.reset();
  auto timer = std::make_shared<asio::steady_timer>(hub_.shard(0).context());
  timer_ = timer;
  asio::co_spawn(hub_.shard(0).context(), probe_loop(), asio::detached);
}

void Health::stop() {
  if (stopping_.exchange(true) || !timer_) return;
  auto timer = std::static_pointer_cast<asio::steady_timer>(timer_);
  asio::post(hub_.shard(0).context(), [timer] { timer->cancel(); });
  done_.wait_blocking(std::chrono::seconds(10));
}

HealthReport Health::report() const {
  std::lock_guard lock(mutex_);
  HealthReport r = report_;
  r.draining = draining_.load();
  return r;
}

bool Health::live() const {
  std::lock_guard lock(mutex_);
  if (report_.ready() && !draining_) return true;
  return Clock::now() - ready_since_ < options_.live_grace;
}

void Health::set_draining() { draining_ = true; }

Task<void> Health::probe_loop() {
  auto timer = std::static_pointer_cast<asio::steady_timer>(timer_);
  while (!stopping_) {
    co_await probe_once();
    if (stopping_) break;
    timer->expires_after(options_.probe_interval);
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  }
  done_.set();
}

Task<void> Health::probe_once() {
  Backend& backend = hub_.backend();
  HealthReport r;
  r.probed = true;
  r.min_nodes = options_.min_nodes;
  r.engine = backend.healthy();
  auto head = co_await backend.head();
  r.delivered = backend.delivered();
  auto now = Clock::now();
  if (head) {
    r.head = *head;
    // At the head, or moving toward it: delivering. Behind without progress for `stall`:
    // the consumer is detached, whatever the engine connection says.
    if (r.delivered >= r.head || r.delivered > last_delivered_) progress_at_ = now;
    r.bus = r.engine && now - progress_at_ < options_.stall;
  }
  last_delivered_ = r.delivered;
  backend.report(r.delivered, draining_);
  auto nodes = co_await backend.nodes();
  if (nodes) {
    r.registry = true;
    r.nodes_alive = std::count_if(nodes->begin(), nodes->end(), [](const NodeInfo& n) { return n.state != NodeState::dead; });
    r.nodes = std::move(*nodes);
  }
  auto jobs = co_await backend.job_holders();
  if (jobs) r.jobs = std::move(*jobs);
  r.draining = draining_;
  std::lock_guard lock(mutex_);
  report_ = std::move(r);
  if (report_.ready()) ready_since_ = now;
}

}  // namespace herald
