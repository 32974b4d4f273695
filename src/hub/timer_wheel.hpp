#pragma once
// A hashed timer wheel: the deadlines of a shard's many long-lived streams (the next heartbeat,
// the connection's end, a write's dispatch_timeout) in one place, driven by one Asio timer.
//
// Why not an Asio timer per stream: an idle stream would hold a timer object and a pending
// wait operation whose handler keeps the stream's state, a few hundred bytes each, and
// streams are many (see BENCHMARKS.md, idle memory). Here a deadline is three pointers inside
// the stream (an intrusive link and its tick), and the shard's timer fires once per tick
// while any deadline is pending.
//
// Time is cut into ticks of `resolution`; slot = tick mod slot count. A deadline fires at the
// first tick at or after it: never early, at most one tick (plus the loop's delay) late.
// Deadlines further away than the wheel's span wait in their slot for their round.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "hub/subscriber.hpp"

namespace herald {

class TimerWheel {
 public:
  using Clock = std::chrono::steady_clock;

  /// A list link (a slot's head, or an entry).
  struct Link {
    Link* prev = nullptr;
    Link* next = nullptr;
  };

  /// A deadline, embedded in its owner. Scheduled on one wheel at a time; the owner cancels
  /// it (TimerWheel::cancel) before it goes away.
  class Entry : private Link {
   public:
    Entry() = default;
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    bool scheduled() const { return next != nullptr; }

   protected:
    ~Entry() = default;
    /// The deadline passed (shard thread, from the wheel's timer; never inside schedule or
    /// cancel). The entry is no longer scheduled; it may schedule itself again.
    virtual void on_due() = 0;

   private:
    friend class TimerWheel;
    std::uint64_t tick_ = 0;
  };

  /// `resolution`: the tick (at least 1 ms). Bound to the shard's executor; shard thread only.
  TimerWheel(ShardExecutor executor, Clock::duration resolution);
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  /// Schedules (or moves) `entry` to fire at `due` (shard thread). A past `due` fires at the
  /// next tick; time_point::max() only unschedules.
  void schedule(Entry& entry, Clock::time_point due);
  /// Unschedules `entry` if it is scheduled (shard thread). O(1).
  void cancel(Entry& entry);
  /// Entries scheduled.
  std::size_t size() const { return size_; }
  Clock::duration resolution() const { return resolution_; }
  /// Stops the wheel's timer for good (shard thread, or after the loop stopped): before the
  /// io_context goes away. Entries may still be cancelled afterwards; none fires.
  void stop();

  /// The tick for a shard whose shortest stream period (heartbeat, dispatch_timeout,
  /// write_timeout) is `shortest`: a twentieth of it, between 1 ms and 250 ms.
  static Clock::duration resolution_for(Clock::duration shortest);

 private:
  static constexpr std::size_t kSlots = 1024;
  static void unlink(Link& link);
  static void push_back(Link& head, Link& link);
  std::uint64_t tick_at(Clock::time_point t) const;  ///< the last tick at or before t
  void arm();
  void on_timer();

  Clock::duration resolution_;
  Clock::time_point origin_;
  std::uint64_t current_ = 0;  ///< every deadline at or before this tick has fired
  std::size_t size_ = 0;
  bool armed_ = false;
  bool stopped_ = false;
  std::unique_ptr<Link[]> slots_;
  std::unique_ptr<ShardTimer> timer_;
};

}  // namespace herald
