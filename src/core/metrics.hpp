#pragma once
// The node's counters, gauges and histograms, rendered in the Prometheus text format
// (version 0.0.4) at the admin address's /metrics. Written by hand: no Prometheus client
// library is a Debian 12 package the product may link, and the format is a few lines.
// Threads: every update is a relaxed atomic operation, safe from any thread; render() reads
// each value once (a scrape is not a snapshot across metrics).
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/duration.hpp"

namespace herald {

struct Counter {
  std::atomic<std::uint64_t> value{0};
  void inc(std::uint64_t n = 1) { value.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t get() const { return value.load(std::memory_order_relaxed); }
};

struct Gauge {
  std::atomic<std::int64_t> value{0};
  void add(std::int64_t n) { value.fetch_add(n, std::memory_order_relaxed); }
  void set(std::int64_t n) { value.store(n, std::memory_order_relaxed); }
  std::int64_t get() const { return value.load(std::memory_order_relaxed); }
};

/// Latencies in seconds, with fixed buckets from 100 µs to 10 s.
class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                  0.025,  0.05,    0.1,    0.25,  0.5,    1,     10};
  void observe(Duration d);
  /// Appends `name`'s _bucket, _sum and _count lines (with their HELP and TYPE).
  void render(std::string& out, const char* name, const char* help) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};  ///< last: above every bound
  std::atomic<std::uint64_t> sum_ns_{0}, count_{0};
};

/// Publishes by outcome (a label each).
enum class PublishOutcome { accepted, bad_request, unauthorized, forbidden, too_large, failed, count_ };

/// The node's metrics. One per process (metrics()): a hub, its shards, transports and HTTP
/// sessions write to it.
struct Metrics {
  // The Mercure hub's names.
  Gauge subscribers_connected;  ///< mercure_subscribers_connected
  Counter subscribers_total;    ///< mercure_subscribers_total
  Counter updates_total;        ///< mercure_updates_total: updates accepted by this node's publish route
  // Herald's.
  std::array<Counter, static_cast<std::size_t>(PublishOutcome::count_)> publishes;
  Histogram publish_seconds;           ///< request received to answer (the engine's acknowledgement)
  Histogram publish_to_write_seconds;  ///< acknowledged on this node to written to a subscriber's socket
  Counter deliveries;                  ///< updates queued to subscribers (one per subscriber)
  Counter slow_disconnected;           ///< subscribers closed for reading too slowly
  Counter fanout_batches;              ///< batches of updates dispatched by the shards
  Counter fanout_writes;               ///< gathered writes of a batch's frames to a subscriber's socket
  Counter replays, replayed_updates;   ///< subscriptions that replayed history, and the updates replayed
  Counter engine_reconnects;           ///< the engine's connections re-established after a failure
  Gauge open_connections;              ///< HTTP connections open on the main address

  void publish(PublishOutcome outcome) { publishes[static_cast<std::size_t>(outcome)].inc(); }
};

Metrics& metrics();

/// Values sampled at scrape time by the caller (the health probe's and the hub's).
struct MetricsSample {
  std::uint64_t bus_lag = 0;      ///< head - delivered at the last probe
  std::uint64_t inbox_depth = 0;  ///< records waiting in the shards' inboxes
  bool ready = false;
  std::vector<std::pair<std::string, bool>> jobs_held;  ///< each cluster job, and whether this node holds it
};

/// The whole document, in the Prometheus text format.
std::string render_metrics(const Metrics& m, const MetricsSample& sample);

}  // namespace herald
