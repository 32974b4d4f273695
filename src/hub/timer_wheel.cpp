#include "hub/timer_wheel.hpp"

#include <algorithm>

namespace herald {

TimerWheel::TimerWheel(ShardExecutor executor, Clock::duration resolution)
    : resolution_(std::max<Clock::duration>(resolution, std::chrono::milliseconds(1))),
      origin_(Clock::now()),
      slots_(std::make_unique<Link[]>(kSlots)),
      timer_(std::make_unique<ShardTimer>(executor)) {
  for (std::size_t i = 0; i < kSlots; ++i) slots_[i].prev = slots_[i].next = &slots_[i];
}

TimerWheel::~TimerWheel() {
  // Owners cancel their entries; whatever is left is only unhooked from the slots.
  for (std::size_t i = 0; i < kSlots; ++i) {
    while (slots_[i].next != &slots_[i]) unlink(*slots_[i].next);
  }
}

TimerWheel::Clock::duration TimerWheel::resolution_for(Clock::duration shortest) {
  return std::clamp<Clock::duration>(shortest / 20, std::chrono::milliseconds(1), std::chrono::milliseconds(250));
}

void TimerWheel::unlink(Link& link) {
  link.prev->next = link.next;
  link.next->prev = link.prev;
  link.prev = link.next = nullptr;
}

void TimerWheel::push_back(Link& head, Link& link) {
  link.prev = head.prev;
  link.next = &head;
  head.prev->next = &link;
  head.prev = &link;
}

std::uint64_t TimerWheel::tick_at(Clock::time_point t) const {
  if (t <= origin_) return 0;
  return static_cast<std::uint64_t>((t - origin_) / resolution_);
}

void TimerWheel::schedule(Entry& entry, Clock::time_point due) {
  cancel(entry);
  if (due == Clock::time_point::max()) return;  // never
  if (size_ == 0 && !armed_) current_ = std::max(current_, tick_at(Clock::now()));  // idle: skip the empty ticks
  // The first tick at or after `due`, and never one that has already run.
  std::uint64_t tick = tick_at(due);
  if (origin_ + resolution_ * static_cast<Clock::rep>(tick) < due) ++tick;
  entry.tick_ = std::max(tick, current_ + 1);
  push_back(slots_[entry.tick_ % kSlots], entry);
  ++size_;
  arm();
}

void TimerWheel::cancel(Entry& entry) {
  if (!entry.scheduled()) return;
  unlink(entry);
  --size_;
}

void TimerWheel::stop() {
  stopped_ = true;
  timer_.reset();
}

void TimerWheel::arm() {
  if (armed_ || stopped_ || size_ == 0) return;
  armed_ = true;
  timer_->expires_at(origin_ + resolution_ * static_cast<Clock::rep>(current_ + 1));
  timer_->async_wait([this](boost::system::error_code ec) {
    armed_ = false;
    if (ec || stopped_) return;
    on_timer();
  });
}

void TimerWheel::on_timer() {
  std::uint64_t target = tick_at(Clock::now());
  if (target <= current_) {
    arm();
    return;
  }
  // Move what is due to a list of its own first: on_due may schedule or cancel any entry.
  Link due;
  due.prev = due.next = &due;
  std::uint64_t steps = std::min<std::uint64_t>(target - current_, kSlots);
  for (std::uint64_t i = 1; i <= steps; ++i) {
    Link& head = slots_[(current_ + i) % kSlots];
    for (Link* l = head.next; l != &head;) {
      Link* next = l->next;
      if (static_cast<Entry*>(l)->tick_ <= target) {
        unlink(*l);
        push_back(due, *l);
      }
      l = next;
    }
  }
  current_ = target;
  while (due.next != &due) {
    Entry& entry = *static_cast<Entry*>(due.next);
    unlink(entry);
    --size_;
    entry.on_due();
  }
  arm();
}

}  // namespace herald
