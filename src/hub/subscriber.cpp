#include "hub/subscriber.hpp"

#include "core/logging.hpp"
#include "core/metrics.hpp"

namespace herald {

bool Subscriber::push(Frame frame, Seq seq) {
  if (closed_) return false;
  if (queue_.size() >= capacity_) {
    logger("hub")->info("subscriber_evicted subscriber={} reason=\"queue full ({} updates): reading too slowly\"", id,
                        capacity_);
    metrics().slow_disconnected.inc();
    close();
    return false;
  }
  if (seq > last_seq) last_seq = seq;
  metrics().deliveries.inc();
  if (queue_.empty() && try_write_now && try_write_now(frame)) return true;
  queue_.push_back(std::move(frame));
  wake_.cancel();
  return true;
}

void Subscriber::close() {
  if (closed_) return;
  closed_ = true;
  queue_.clear();
  try_write_now = nullptr;
  wake_.cancel();
  if (on_close) {
    auto hook = std::move(on_close);
    on_close = nullptr;
    hook();
  }
}

}  // namespace herald
