#include "hub/shard.hpp"

#include <boost/asio/post.hpp>

#include "core/logging.hpp"
#include "hub/sse_encoder.hpp"
#include "transport/transport.hpp"

namespace herald {
namespace {
constexpr std::size_t kReplayPage = 1000;

bool all_exact(const std::vector<std::string>& selectors) {
  for (const auto& s : selectors)
    if (!is_exact_selector(s)) return false;
  return true;
}
}  // namespace

Shard::Shard(unsigned index, const Config& config, Transport& transport)
    : index_(index), config_(config), transport_(transport), matcher_(config.topic_selector_cache) {}

bool Shard::can_receive(const Subscriber& s, const Update& u) {
  if (!matcher_.match_any(s.topics, u.topics)) return false;
  if (!u.is_private) return true;
  if (!s.may_see) return false;  // anonymous subscribers never see private updates
  return matcher_.match_any(*s.may_see, u.topics);
}

void Shard::index_add(const std::shared_ptr<Subscriber>& s) {
  all_.insert(s);
  if (all_exact(s->topics)) {
    for (const auto& t : s->topics) by_topic_[t].push_back(s.get());
  } else {
    patterned_.insert(s.get());
  }
}

void Shard::index_remove(const std::shared_ptr<Subscriber>& s) {
  if (all_.erase(s) == 0) return;
  if (patterned_.erase(s.get()) > 0) return;
  for (const auto& t : s->topics) {
    auto it = by_topic_.find(t);
    if (it == by_topic_.end()) continue;
    auto& v = it->second;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i] == s.get()) {
        v[i] = v.back();
        v.pop_back();
        break;
      }
    }
    if (v.empty()) by_topic_.erase(it);
  }
}

Task<ReplayOutcome> Shard::subscribe(std::shared_ptr<Subscriber> s, std::optional<std::string> cursor) {
  ReplayOutcome out;
  if (!cursor) {
    index_add(s);
    co_return out;
  }
  // Resolve the cursor before registering. For an unknown id, start from the newest update
  // stored now: what was published before the subscription began is not replayed.
  auto found = co_await transport_.find(*cursor);
  Seq start = 0;
  if (found) {
    out.cursor_found = true;
    start = *found;
  } else {
    auto head = co_await transport_.head();
    start = head ? *head : 0;
  }
  s->last_seq = std::max(s->last_seq, start);
  s->replaying = true;
  index_add(s);
  co_await replay_next(s);
  co_return out;
}

Task<void> Shard::replay_next(std::shared_ptr<Subscriber> s) {
  if (!s->replaying || s->closed()) co_return;
  auto page = co_await transport_.read_after(s->last_seq, kReplayPage);
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
    if (can_receive(*s, *st.update))
      s->queue().push_back(std::make_shared<const std::string>(encode_sse(*st.update)));
  }
  // A short page proves the store had nothing newer when it was read: anything committed
  // later reaches this shard afterwards, with a higher seq, as a live update.
  if (page->size() < kReplayPage) s->replaying = false;
  s->wake_timer().cancel();
}

void Shard::unsubscribe(const std::shared_ptr<Subscriber>& s) { index_remove(s); }

void Shard::deliver(Subscriber& s, const Stored& stored, Frame& frame) {
  // An update may reach the shard after the replay already sent it (it was posted to this
  // shard before the subscriber registered): seq order makes that check exact.
  if (s.closed() || s.replaying || stored.seq <= s.last_seq || !can_receive(s, *stored.update)) return;
  if (!frame) frame = std::make_shared<const std::string>(encode_sse(*stored.update));
  s.push(frame, stored.seq);
}

void Shard::dispatch(const Stored& stored) {
  ++epoch_;
  Frame frame;  // encoded once, on first delivery
  for (const auto& topic : stored.update->topics) {
    auto it = by_topic_.find(topic);
    if (it == by_topic_.end()) continue;
    for (Subscriber* s : it->second) {
      if (s->visit_epoch == epoch_) continue;
      s->visit_epoch = epoch_;
      deliver(*s, stored, frame);
    }
  }
  for (Subscriber* s : patterned_) {
    if (s->visit_epoch == epoch_) continue;
    s->visit_epoch = epoch_;
    deliver(*s, stored, frame);
  }
}

void Shard::enqueue(Stored stored) {
  bool was_empty;
  {
    std::lock_guard lock(inbox_mutex_);
    was_empty = inbox_.empty();
    inbox_.push_back(std::move(stored));
  }
  if (!was_empty) return;  // a drain is already on its way and will take this one too
  boost::asio::post(context_, [this] {
    std::vector<Stored> batch;
    {
      std::lock_guard lock(inbox_mutex_);
      batch.swap(inbox_);
    }
    for (const auto& s : batch) dispatch(s);
  });
}

std::uint64_t Shard::track(std::function<void()> close) {
  auto handle = ++next_handle_;
  connections_.emplace(handle, std::move(close));
  return handle;
}

void Shard::untrack(std::uint64_t handle) { connections_.erase(handle); }

void Shard::disconnect_all() {
  auto subscribers = all_;
  for (const auto& s : subscribers) s->close();
}

void Shard::close_all() {
  stopping_ = true;
  auto subscribers = all_;
  for (const auto& s : subscribers) s->close();
  auto connections = std::move(connections_);
  connections_.clear();
  for (auto& [_, close] : connections) close();
}

}  // namespace herald
