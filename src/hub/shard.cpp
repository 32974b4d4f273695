#include "hub/shard.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>

#include "core/logging.hpp"
#include "core/metrics.hpp"
#include "hub/sse_encoder.hpp"
#include "hub/authorization.hpp"
#include "hub/backend.hpp"

namespace herald {
namespace {
constexpr std::size_t kReplayPage = 1000;

bool all_exact(const std::vector<std::string>& selectors) {
  for (const auto& s : selectors)
    if (!is_exact_selector(s)) return false;
  return true;
}

/// The distinct literal prefixes of a subscriber's selectors (an exact selector is its own
/// prefix); empty when some selector has none (`*`, or a template starting with `{`).
std::vector<std::string> literal_prefixes(const std::vector<std::string>& selectors) {
  std::vector<std::string> out;
  for (const auto& s : selectors) {
    std::string prefix = s == "*" ? std::string() : s.substr(0, s.find('{'));
    if (prefix.empty()) return {};
    if (std::find(out.begin(), out.end(), prefix) == out.end()) out.push_back(std::move(prefix));
  }
  return out;
}

void erase_one(std::vector<Subscriber*>& v, Subscriber* s) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == s) {
      v[i] = v.back();
      v.pop_back();
      return;
    }
  }
}
}  // namespace

Shard::Shard(unsigned index, const Config& config, FlowGate& gate)
    : index_(index), config_(config), gate_(gate), matcher_(config.topic_selector_cache) {}

bool Shard::can_receive(const Subscriber& s, const Update& u) { return may_receive(matcher_, s, u); }

void Shard::index_add(const std::shared_ptr<Subscriber>& s) {
  if (!all_.insert(s).second) return;
  metrics().subscribers_connected.add(1);
  metrics().subscribers_total.inc();
  if (all_exact(s->topics)) {
    for (const auto& t : s->topics) by_topic_[t].push_back(s.get());
    return;
  }
  auto prefixes = literal_prefixes(s->topics);
  if (prefixes.empty()) {
    patterned_.insert(s.get());
    return;
  }
  for (auto& p : prefixes) {
    auto& v = by_prefix_[p];
    if (v.empty()) ++prefix_lengths_[p.size()];
    v.push_back(s.get());
  }
}

void Shard::index_remove(const std::shared_ptr<Subscriber>& s) {
  if (all_.erase(s) == 0) return;
  metrics().subscribers_connected.add(-1);
  if (patterned_.erase(s.get()) > 0) return;
  if (all_exact(s->topics)) {
    for (const auto& t : s->topics) {
      auto it = by_topic_.find(t);
      if (it == by_topic_.end()) continue;
      erase_one(it->second, s.get());
      if (it->second.empty()) by_topic_.erase(it);
    }
    return;
  }
  for (const auto& p : literal_prefixes(s->topics)) {
    auto it = by_prefix_.find(p);
    if (it == by_prefix_.end()) continue;
    erase_one(it->second, s.get());
    if (!it->second.empty()) continue;
    by_prefix_.erase(it);
    if (auto len = prefix_lengths_.find(p.size()); len != prefix_lengths_.end() && --len->second == 0)
      prefix_lengths_.erase(len);
  }
}

Task<Result<ReplayOutcome>> Shard::subscribe(std::shared_ptr<Subscriber> s, std::optional<std::string> cursor) {
  ReplayOutcome out;
  if (!cursor) {
    index_add(s);
    co_return out;
  }
  // Resolve the cursor before registering. For an unknown id, start from the newest update
  // stored now: what was published before the subscription began is not replayed. A backend
  // that cannot answer fails the request: taking that for "unknown" would skip history, and
  // replaying from 0 would resend it.
  auto found = co_await backend_->find(*cursor);
  if (!found && found.error() != make_error_code(Errc::not_found)) co_return found.error();
  Seq start = 0;
  if (found) {
    out.cursor_found = true;
    start = *found;
  } else {
    auto head = co_await backend_->head();
    if (!head) co_return head.error();
    start = *head;
  }
  if (s->closed()) co_return out;  // the client went away meanwhile
  s->last_seq = std::max(s->last_seq, start);
  s->replaying = true;
  metrics().replays.inc();
  index_add(s);
  co_await replay_next(s);
  co_return out;
}

Task<void> Shard::replay_next(std::shared_ptr<Subscriber> s) {
  if (!s->replaying || s->closed()) co_return;
  auto page = co_await backend_->read_after(s->last_seq, kReplayPage);
  if (s->closed()) co_return;  // closed meanwhile: nothing may be queued for it
  if (!page) {
    logger("hub")->info("replay_interrupted subscriber={} reason=\"{}\"", s->id,
                        page.error() == make_error_code(Errc::not_found) ? "history trimmed during replay"
                                                                          : page.error().message());
    s->close();
    co_return;
  }
  for (const auto& st : *page) {
    if (st.seq <= s->last_seq) continue;
    s->last_seq = st.seq;
    if (can_receive(*s, *st.update)) {
      s->queue().push_back(std::make_shared<const std::string>(encode_sse(*st.update)));
      metrics().replayed_updates.inc();
    }
  }
  // A short page proves the store had nothing newer when it was read: anything stored later
  // reached (or will reach) this shard as a live update, after the subscriber was registered.
  // Those that came during the replay are held; they continue the history past its last seq.
  if (page->size() < kReplayPage) {
    if (s->held_overflow) {
      s->held_overflow = false;  // some were dropped: read them from the store first
    } else {
      s->replaying = false;
      for (auto& [seq, frame] : s->held) {
        if (seq <= s->last_seq) continue;
        s->last_seq = seq;
        s->queue().push_back(std::move(frame));
      }
      std::vector<std::pair<Seq, Frame>>().swap(s->held);
    }
  }
  s->wake_timer().cancel();
}

void Shard::unsubscribe(const std::shared_ptr<Subscriber>& s) {
  index_remove(s);
  if (stopping_ && all_.empty()) drained_.set();
}

void Shard::deliver(Subscriber& s, const Stored& stored, Frame& frame) {
  // An update may reach the shard after the replay already sent it (it was posted to this
  // shard before the subscriber registered): seq order makes that check exact.
  if (s.closed() || stored.seq <= s.last_seq || !can_receive(s, *stored.update)) return;
  if (!frame) frame = std::make_shared<const std::string>(encode_sse(*stored.update));
  if (s.replaying) {
    if (s.held_overflow) return;
    if (s.held.size() >= s.capacity()) {
      s.held_overflow = true;
      std::vector<std::pair<Seq, Frame>>().swap(s.held);
      return;
    }
    s.held.emplace_back(stored.seq, frame);
    return;
  }
  s.push(frame, stored.seq);
}

void Shard::dispatch(const Stored& stored) {
  ++epoch_;
  Frame frame;  // encoded once, on first delivery
  auto visit = [&](const std::vector<Subscriber*>& subscribers) {
    for (Subscriber* s : subscribers) {
      if (s->visit_epoch == epoch_) continue;
      s->visit_epoch = epoch_;
      deliver(*s, stored, frame);
    }
  };
  for (const auto& topic : stored.update->topics) {
    if (auto it = by_topic_.find(topic); it != by_topic_.end()) visit(it->second);
    for (const auto& [length, count] : prefix_lengths_) {
      if (length > topic.size()) break;
      prefix_key_.assign(topic, 0, length);
      if (auto it = by_prefix_.find(prefix_key_); it != by_prefix_.end()) visit(it->second);
    }
  }
  for (Subscriber* s : patterned_) {
    if (s->visit_epoch == epoch_) continue;
    s->visit_epoch = epoch_;
    deliver(*s, stored, frame);
  }
  // Written (the fast path) or queued for every matching subscriber of this shard.
  if (frame && stored.received != std::chrono::steady_clock::time_point{})
    metrics().publish_to_write_seconds.observe(std::chrono::steady_clock::now() - stored.received);
}

void Shard::enqueue(Stored stored) {
  bool was_empty;
  {
    std::lock_guard lock(inbox_mutex_);
    was_empty = inbox_.empty();
    inbox_.push_back(std::move(stored));
  }
  gate_.add(1);
  if (!was_empty) return;  // a drain is already on its way and will take this one too
  boost::asio::post(context_, [this] {
    std::vector<Stored> batch;
    {
      std::lock_guard lock(inbox_mutex_);
      batch.swap(inbox_);
    }
    for (const auto& s : batch) dispatch(s);
    gate_.remove(batch.size());
  });
}

std::uint64_t Shard::track(std::function<void()> close) {
  auto handle = ++next_handle_;
  connections_.emplace(handle, std::move(close));
  return handle;
}

void Shard::untrack(std::uint64_t handle) { connections_.erase(handle); }

std::size_t Shard::close_some(std::size_t n) {
  std::vector<std::shared_ptr<Subscriber>> picked;
  for (const auto& s : all_) {
    if (picked.size() >= n) break;
    if (!s->closed()) picked.push_back(s);
  }
  for (const auto& s : picked) s->close();
  return picked.size();
}

void Shard::disconnect_all() {
  auto subscribers = all_;
  for (const auto& s : subscribers) s->close();
}

void Shard::close_all() {
  stopping_ = true;
  disconnect_all();
  if (all_.empty()) drained_.set();
  auto connections = std::move(connections_);
  connections_.clear();
  for (auto& [_, close] : connections) close();
}

}  // namespace herald
