#pragma once
// A subscriber's queue of frames. A vector with a moving head rather than std::deque,
// whose libstdc++ implementation allocates a 512-byte block even when empty: most
// subscribers are idle with an empty queue (fan-out writes directly when it can).
// It counts the bytes it holds, for the per-subscriber byte budget.
#include <cstddef>
#include <vector>

#include "model/update.hpp"

namespace herald {

class FrameQueue {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  /// Bytes of the frames queued.
  std::size_t bytes() const { return bytes_; }
  void push_back(Frame frame) {
    bytes_ += frame->size();
    items_.push_back(std::move(frame));
  }
  Frame& front() { return items_[head_]; }
  void pop_front() { (void)take_front(); }
  /// Removes the first frame and returns it.
  Frame take_front() {
    Frame frame = std::move(items_[head_++]);
    bytes_ -= frame->size();
    if (head_ == items_.size()) {
      clear();
    } else if (head_ >= 64 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    return frame;
  }
  /// Empties the queue and gives its memory back.
  void clear() {
    std::vector<Frame>().swap(items_);
    head_ = 0;
    bytes_ = 0;
  }
  auto begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() const { return items_.end(); }

 private:
  std::vector<Frame> items_;
  std::size_t head_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace herald
