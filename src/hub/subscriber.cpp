#include "hub/subscriber.hpp"

#include "core/logging.hpp"
#include "core/metrics.hpp"

namespace herald {

bool Subscriber::push(Frame frame) {
  if (closed_) return false;
  bool over_frames = queue_.size() >= capacity_;
  bool over_bytes = !queue_.empty() && queue_.bytes() + frame->size() > byte_budget_;
  if (over_frames || over_bytes) {
    static const auto log = logger("hub");  // looked up once: the registry takes a lock
    if (over_frames)
      log->info("subscriber_evicted subscriber={} reason=\"queue full ({} updates): reading too slowly\"", id.urn(),
                capacity_);
    else
      log->info("subscriber_evicted subscriber={} reason=\"queue full ({} bytes): reading too slowly\"", id.urn(),
                byte_budget_);
    metrics().slow_disconnected.inc();
    close();
    return false;
  }
  queue_.push_back(std::move(frame));
  if (sink) sink->wake();
  return true;
}

void Subscriber::close() {
  if (closed_) return;
  closed_ = true;
  queue_.clear();
  open = false;
  if (Sink* s = sink) {
    sink = nullptr;
    s->abort();
  }
}

}  // namespace herald
