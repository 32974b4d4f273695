#pragma once
// The hub: owns the transport and the shards, and is the transport's Listener.
// An update's path: http (publish) -> auth -> Hub::publish -> transport ->
// Hub::on_update -> every Shard::dispatch -> subscribers' queues -> http (SSE writers).
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>

#include "config/config.hpp"
#include "hub/shard.hpp"
#include "transport/transport.hpp"

namespace herald {

class Hub final : public Listener {
 public:
  Hub(const Config& config, std::unique_ptr<Transport> transport);
  ~Hub() override;

  const Config& config() const { return config_; }
  Transport& transport() { return *transport_; }
  std::size_t shard_count() const { return shards_.size(); }
  Shard& shard(std::size_t i) { return *shards_[i]; }

  /// Registers with the transport and starts one thread per shard.
  void start();
  /// Closes every subscriber and connection, lets the shards finish, joins the threads.
  void stop();

  void on_update(Stored stored) noexcept override;
  void on_error(boost::system::error_code ec) noexcept override;
  void on_gap() noexcept override;
  void on_subscribers_lost(std::vector<SubscriberInfo> subscribers) noexcept override;

 private:
  const Config& config_;
  std::unique_ptr<Transport> transport_;
  std::vector<std::unique_ptr<Shard>> shards_;
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace herald
