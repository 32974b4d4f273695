#include "core/metrics.hpp"

#include <chrono>
#include <cstdio>

namespace herald {
namespace {

void header(std::string& out, const char* name, const char* help, const char* type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const char* name, const std::string& labels, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += ' ';
  out += buf;
  out += '\n';
}

void counter(std::string& out, const char* name, const char* help, std::uint64_t v) {
  header(out, name, help, "counter");
  sample(out, name, "", static_cast<double>(v));
}

void gauge(std::string& out, const char* name, const char* help, double v) {
  header(out, name, help, "gauge");
  sample(out, name, "", v);
}

constexpr const char* kOutcomes[] = {"accepted", "bad_request", "unauthorized", "forbidden", "too_large", "failed"};
static_assert(std::size(kOutcomes) == static_cast<std::size_t>(PublishOutcome::count_));

}  // namespace

void Histogram::observe(Duration d) {
  double seconds = std::chrono::duration<double>(d).count();
  std::size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  sum_ns_.fetch_add(ns > 0 ? static_cast<std::uint64_t>(ns) : 0, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::render(std::string& out, const char* name, const char* help) const {
  header(out, name, help, "histogram");
  std::string bucket = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    char le[32];
    std::snprintf(le, sizeof le, "%g", kBounds[i]);
    sample(out, bucket.c_str(), std::string("le=\"") + le + "\"", static_cast<double>(cumulative));
  }
  cumulative += buckets_.back().load(std::memory_order_relaxed);
  // The count is the +Inf bucket's, read once, so the two always agree.
  sample(out, bucket.c_str(), "le=\"+Inf\"", static_cast<double>(cumulative));
  sample(out, (std::string(name) + "_sum").c_str(), "", static_cast<double>(sum_ns_.load()) / 1e9);
  sample(out, (std::string(name) + "_count").c_str(), "", static_cast<double>(cumulative));
}

Metrics& metrics() {
  static Metrics m;
  return m;
}

std::string render_metrics(const Metrics& m, const MetricsSample& s) {
  std::string out;
  out.reserve(6000);
  gauge(out, "mercure_subscribers_connected", "The current number of connected subscribers.",
        static_cast<double>(m.subscribers_connected.get()));
  counter(out, "mercure_subscribers_total", "Total number of handled subscribers.", m.subscribers_total.get());
  counter(out, "mercure_updates_total", "Total number of handled updates.", m.updates_total.get());
  header(out, "herald_publishes_total", "Publish requests answered, by outcome.", "counter");
  for (std::size_t i = 0; i < m.publishes.size(); ++i)
    sample(out, "herald_publishes_total", std::string("outcome=\"") + kOutcomes[i] + "\"",
           static_cast<double>(m.publishes[i].get()));
  m.publish_seconds.render(out, "herald_publish_duration_seconds",
                           "Publish requests, from the request to the answer (the engine's acknowledgement).");
  m.publish_to_write_seconds.render(out, "herald_publish_to_write_seconds",
                                    "Updates published on this node, from the engine's acknowledgement to the "
                                    "write to a subscriber's socket.");
  counter(out, "herald_deliveries_total", "Updates queued to subscribers (one per subscriber).", m.deliveries.get());
  counter(out, "herald_fanout_batches_total", "Batches of updates dispatched together by the shards.",
          m.fanout_batches.get());
  counter(out, "herald_fanout_writes_total",
          "Writes of a batch's frames to a subscriber's socket at once (deliveries / writes = frames per write).",
          m.fanout_writes.get());
  counter(out, "herald_slow_subscribers_disconnected_total",
          "Subscribers disconnected for reading too slowly (queue full or write timeout).", m.slow_disconnected.get());
  counter(out, "herald_replays_total", "Subscriptions that replayed history (Last-Event-ID).", m.replays.get());
  counter(out, "herald_replayed_updates_total", "Updates sent from history.", m.replayed_updates.get());
  counter(out, "herald_engine_reconnects_total", "Connections to the engine re-established after a failure.",
          m.engine_reconnects.get());
  gauge(out, "herald_bus_lag", "Updates in the engine's log not yet delivered by this node (last probe).",
        static_cast<double>(s.bus_lag));
  gauge(out, "herald_shard_inbox_depth", "Updates waiting in the shards' inboxes.", static_cast<double>(s.inbox_depth));
  gauge(out, "herald_open_connections", "HTTP connections open on the main address.",
        static_cast<double>(m.open_connections.get()));
  gauge(out, "herald_ready", "1 while the node is ready (the readiness route's answer).", s.ready ? 1 : 0);
  header(out, "herald_cluster_job_held", "1 while this node holds the cluster job's lease (runs it).", "gauge");
  for (const auto& [job, held] : s.jobs_held)
    sample(out, "herald_cluster_job_held", "job=\"" + job + "\"", held ? 1 : 0);
  return out;
}

}  // namespace herald
