#pragma once
// A subscriber's queue of frames. A vector with a moving head rather than std::deque,
// whose libstdc++ implementation allocates a 512-byte block even when empty: most
// subscribers are idle with an empty queue (the fan-out fast path writes directly).
#include <cstddef>
#include <vector>

#include "model/update.hpp"

namespace herald {

class FrameQueue {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  void push_back(Frame frame) { items_.push_back(std::move(frame)); }
  Frame& front() { return items_[head_]; }
  void pop_front() {
    items_[head_++].reset();
    if (head_ == items_.size()) {
      clear();
    } else if (head_ >= 64 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  /// Empties the queue and gives its memory back.
  void clear() {
    std::vector<Frame>().swap(items_);
    head_ = 0;
  }
  auto begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() const { return items_.end(); }

 private:
  std::vector<Frame> items_;
  std::size_t head_ = 0;
};

}  // namespace herald
