#pragma once
// A cluster job: work that must run on one node of the cluster at a time (reaping dead nodes,
// retention by age). A transport's parts name the jobs they need (Log::jobs,
// PresenceRegistry::jobs); the hub runs each one on the holder of its lease (hub/cluster_jobs).
#include <functional>
#include <string>

#include "core/duration.hpp"
#include "core/task.hpp"

namespace herald {

struct ClusterJob {
  std::string name;  ///< the lease's name, unique in the cluster ("reap", "retention")
  Duration every{};  ///< how often the holder runs a round (the lease is renewed every min(every, ttl/3))
  Duration ttl{};    ///< the lease's time to live: a dead holder's job moves within ttl + every
  /// One round. Runs on the hub's job executor, never concurrently with itself on a node;
  /// may suspend; must not throw (an engine failure is logged and the next round retries).
  /// Captures the part that made it, which outlives the runner (the Backend stops the jobs
  /// before it closes the parts).
  std::function<Task<void>()> round;
};

}  // namespace herald
