#include "hub/hub.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include "core/logging.hpp"
#include "hub/presence.hpp"

namespace herald {
namespace asio = boost::asio;
namespace {
/// Records waiting in the shards' inboxes before the log's consumer is paused, per shard
/// (and where it resumes): a bus catching up after an outage cannot fill memory.
constexpr std::size_t kInboxHigh = 8192, kInboxLow = 2048;
constexpr std::size_t kMaxPending = 65536;

/// Runs `f` on the shard's thread and waits for its result (not from a shard's thread).
template <typename F>
auto on_shard(Shard& shard, F f) {
  // (Not a std::packaged_task: Asio takes one for a completion token and retrieves its future.)
  auto promise = std::make_shared<std::promise<decltype(f())>>();
  auto result = promise->get_future();
  asio::post(shard.context(), [promise, f = std::move(f)]() mutable { promise->set_value(f()); });
  return result.get();
}

unsigned shards_for(const Config& config) {
  return config.shards ? config.shards : std::max(1u, std::thread::hardware_concurrency());
}
}  // namespace

Hub::Hub(const Config& config, Transport transport)
    : config_(config), gate_(kInboxHigh * shards_for(config), kInboxLow * shards_for(config)) {
  unsigned n = shards_for(config);
  for (unsigned i = 0; i < n; ++i) shards_.push_back(std::make_unique<Shard>(i, config_, gate_));
  BackendOptions options;
  options.index_path = config.id_index_path;
  backend_ = std::make_unique<Backend>(std::move(transport), options, shards_[0]->context().get_executor());
  for (auto& s : shards_) s->attach(*backend_);
}

Hub::~Hub() { stop(); }

Task<Result<Seq>> Hub::publish(UpdatePtr update, std::chrono::steady_clock::time_point received) {
  if (received != std::chrono::steady_clock::time_point{}) {
    std::lock_guard lock(pending_mutex_);
    if (pending_.size() >= kMaxPending) pending_.clear();
    pending_.emplace(update->id, received);
  }
  std::string id = update->id;
  auto seq = co_await backend_->publish(std::move(update));
  if (!seq && received != std::chrono::steady_clock::time_point{}) {
    std::lock_guard lock(pending_mutex_);
    pending_.erase(id);
  }
  co_return seq;
}

void Hub::start() {
  for (auto& s : shards_) {
    guards_.emplace_back(s->context().get_executor());
    std::promise<void> ended;
    ended_.push_back(ended.get_future());
    threads_.emplace_back([shard = s.get(), ended = std::move(ended)]() mutable {
      for (;;) {
        try {
          shard->context().run();
          break;
        } catch (const std::exception& e) {
          logger("hub")->error("shard_exception shard={} what={}", shard->index(), e.what());
        }
      }
      ended.set_value();
    });
  }
  auto r = asio::co_spawn(shards_[0]->context(), backend_->listen(*this, gate_), asio::use_future).get();
  if (!r) throw std::runtime_error("transport listen failed: " + r.error().message());
}

/// Lets the streams end (they announce their departure through the backend), boundedly,
/// then closes the backend while the shards still run.
Task<void> Hub::drain_and_close() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (auto& s : shards_) {
    auto left = deadline - std::chrono::steady_clock::now();
    co_await s->drained().wait_for(std::max<Duration>(std::chrono::duration_cast<Duration>(left), Duration::zero()));
  }
  gate_.release_all();  // a consumer paused on full inboxes must see close()
  co_await backend_->close();
}

void Hub::stop() {
  if (stopped_ || threads_.empty()) return;
  stopped_ = true;
  for (auto& s : shards_) asio::post(s->context(), [shard = s.get()] { shard->close_all(); });
  auto closed = asio::co_spawn(shards_[0]->context(), drain_and_close(), asio::use_future);
  closed.wait_for(std::chrono::seconds(8));
  for (auto& g : guards_) g.reset();
  // Connections were closed; their coroutines get a bounded time to unwind, then the loops stop.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    if (ended_[i].wait_until(deadline) != std::future_status::ready) shards_[i]->context().stop();
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
}

std::size_t Hub::subscriber_count() {
  std::size_t total = 0;
  for (auto& s : shards_) {
    if (threads_.empty()) break;
    total += on_shard(*s, [shard = s.get()] { return shard->subscriber_count(); });
  }
  return total;
}

std::size_t Hub::close_subscribers(std::size_t n) {
  std::size_t closed = 0, per_shard = (n + shards_.size() - 1) / std::max<std::size_t>(1, shards_.size());
  for (auto& s : shards_) {
    if (threads_.empty() || closed >= n) break;
    std::size_t k = std::min(per_shard, n - closed);
    closed += on_shard(*s, [shard = s.get(), k] { return shard->close_some(k); });
  }
  return closed;
}

void Hub::on_update(Stored stored) noexcept {
  {
    std::lock_guard lock(pending_mutex_);
    if (!pending_.empty()) {
      if (auto it = pending_.find(stored.update->id); it != pending_.end()) {
        stored.received = it->second;
        pending_.erase(it);
      }
    }
  }
  for (auto& s : shards_) s->enqueue(stored);
}

void Hub::on_error(boost::system::error_code ec) noexcept {
  logger("hub")->error("transport_error error=\"{}\"", ec.message());
}

void Hub::on_gap() noexcept {
  logger("hub")->warn("subscribers_disconnected reason=\"the transport skipped updates\"");
  for (auto& s : shards_) asio::post(s->context(), [shard = s.get()] { shard->disconnect_all(); });
}

void Hub::on_subscribers_lost(std::vector<SubscriberInfo> subscribers) noexcept {
  if (!config_.subscriptions || shards_.empty()) return;
  auto announce = [](Backend& backend, std::vector<SubscriberInfo> gone) -> Task<void> {
    for (const auto& info : gone) co_await publish_subscription_events(backend, info, false);
  };
  asio::co_spawn(shards_[0]->context(), announce(*backend_, std::move(subscribers)), asio::detached);
}

}  // namespace herald
