#pragma once
// The transport seam: what an engine provides, in parts (see ARCHITECTURE.md).
//   log       (always)   append, ordered delivery to every node, page reads, head, gaps;
//                        find() when the engine resolves ids natively
//   presence  (optional) subscribers of every node, heartbeats, expiry, one reaper
//   leases    (always)   at-most-once jobs with a fencing token
// Topic matching, authorization, replay, fan-out and, where an engine lacks them, the id
// index and presence live once in the hub (hub/backend.hpp), so every transport is thin and
// passes one conformance kit (tests/unit/transport/conformance_test.cpp).
#include <memory>
#include <string>

#include "transport/leases.hpp"
#include "transport/log.hpp"
#include "transport/presence_registry.hpp"

namespace herald {

struct Transport {
  std::unique_ptr<Log> log;
  std::unique_ptr<PresenceRegistry> presence;  ///< null: the hub carries presence over the log
  std::unique_ptr<Leases> leases;
  /// The id this node holds leases under, for a transport without a presence registry (whose
  /// node_id() names the node otherwise); empty: the hub makes one up.
  std::string node_id;
  /// For the hub's log-carried presence (no presence registry): how long a silent node's
  /// subscribers are kept (the URL's presence_ttl). Zero: BackendOptions::presence_ttl.
  Duration presence_ttl{};
};

/// Creates the transport named by `url`'s scheme. Throws ConfigError on a bad URL (and, for
/// cluster engines, on credentials the engine refuses at start).
Transport make_transport(const std::string& url);

}  // namespace herald
