#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace herald {

/// One published update. Immutable once published; shared by every shard and subscriber.
struct Update {
  std::string id;                   ///< event id (publisher's, or urn:uuid:<UUIDv7>)
  std::vector<std::string> topics;  ///< topics[0] is canonical, the rest alternate
  std::string data;
  std::string type;                 ///< SSE `event` field; empty = none
  std::uint64_t retry = 0;          ///< SSE `retry` field; 0 = none
  bool is_private = false;
  /// A subscription event (presence, published by the hub itself). Transports keep these
  /// under a small bound of their own, apart from the updates' retention, so connection
  /// churn can never crowd updates out of the history (see Transport::publish).
  bool subscription_event = false;
  /// A record of the hub's own (presence carried over the log, hub/log_presence.hpp): never
  /// delivered to a subscriber, never replayed.
  bool control = false;
};
using UpdatePtr = std::shared_ptr<const Update>;

/// Position of an update in the transport's log (LMDB key, Redis stream id, offset...).
using Seq = std::uint64_t;

struct Stored {
  Seq seq = 0;
  UpdatePtr update;
  /// When this node received the publish request (steady clock), for updates published
  /// through this node; zero for the others (metrics only, never stored).
  std::chrono::steady_clock::time_point received{};
};

/// Encoded SSE bytes, shared among the subscribers of a shard.
using Frame = std::shared_ptr<const std::string>;

}  // namespace herald
