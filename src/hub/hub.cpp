#include "hub/hub.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include "core/logging.hpp"
#include "hub/presence.hpp"

namespace herald {
namespace asio = boost::asio;

Hub::Hub(const Config& config, std::unique_ptr<Transport> transport)
    : config_(config), transport_(std::move(transport)) {
  unsigned n = config.shards ? config.shards : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) shards_.push_back(std::make_unique<Shard>(i, config_, *transport_));
}

Hub::~Hub() { stop(); }

void Hub::start() {
  for (auto& s : shards_) {
    guards_.emplace_back(s->context().get_executor());
    threads_.emplace_back([shard = s.get()] {
      for (;;) {
        try {
          shard->context().run();
          break;
        } catch (const std::exception& e) {
          logger("hub")->error("shard_exception shard={} what={}", shard->index(), e.what());
        }
      }
    });
  }
  auto r = asio::co_spawn(shards_[0]->context(), transport_->listen(*this), asio::use_future).get();
  if (!r) throw std::runtime_error("transport listen failed: " + r.error().message());
}

void Hub::stop() {
  if (stopped_ || threads_.empty()) return;
  stopped_ = true;
  for (auto& s : shards_) asio::post(s->context(), [shard = s.get()] { shard->close_all(); });
  // Let the streams end (and announce their departure through the transport) before the
  // transport closes: bounded, then close it while the shards still run (the work guards
  // keep their loops alive; without them shard 0 could stop before running close()).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (auto& s : shards_) {
    while (std::chrono::steady_clock::now() < deadline) {
      auto left = asio::post(s->context(), asio::use_future([shard = s.get()] { return shard->subscriber_count(); }));
      if (left.wait_until(deadline) != std::future_status::ready || left.get() == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // streams unwind on their own loop
    }
  }
  auto close = asio::co_spawn(shards_[0]->context(), transport_->close(), asio::use_future);
  close.wait_for(std::chrono::seconds(5));
  for (auto& g : guards_) g.reset();
  // Connections were closed; give their coroutines a bounded time to unwind.
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (auto& s : shards_) {
    while (!s->context().stopped() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    s->context().stop();
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void Hub::on_update(Stored stored) noexcept {
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
  auto announce = [](Transport& transport, std::vector<SubscriberInfo> gone) -> Task<void> {
    for (const auto& info : gone) co_await publish_subscription_events(transport, info, false);
  };
  asio::co_spawn(shards_[0]->context(), announce(*transport_, std::move(subscribers)), asio::detached);
}

}  // namespace herald
