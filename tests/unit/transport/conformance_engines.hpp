#pragma once
// The conformance kit's harness: one Engine per transport, each able to give a test fresh
// data, any number of nodes on it, and the faults the kit forces. One engine server per test
// binary (a throwaway redis-server, started once), a fresh stream or directory per test.
#include <memory>
#include <string>
#include <vector>

#include "hub/backend.hpp"
#include "transport/transport.hpp"

namespace herald::test {

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string name() const = 0;
  /// Several nodes may share one instance (a cluster engine).
  virtual bool multi_node() const = 0;
  /// A node's consumer reads the engine on its own (a bus), so it can fall behind; else the
  /// log hands records to the listeners as it appends them, and flow control holds publishers.
  virtual bool consumer_lags() const { return false; }
  /// kill() and restart() stop and start the engine's server.
  virtual bool can_restart() const { return false; }
  /// force_gap() can make a node's bus skip records.
  virtual bool can_force_gap() const { return false; }
  /// plant_dead_node() can register a node that never heartbeats again.
  virtual bool can_plant_dead_node() const { return false; }

  /// Fresh, empty data for the next test (a new stream, directory, shared log), keeping
  /// about `retention` updates (0: the engine's default, which keeps everything a test writes).
  virtual void fresh(std::size_t retention = 0) = 0;
  /// A new node's transport on the current data.
  virtual Transport node() = 0;
  /// The backend options a node of this engine runs with (short presence TTL for tests).
  virtual BackendOptions options() const { return {}; }

  /// An engine whose retention runs on a schedule of its own (Kafka drops whole segments by
  /// age or size) applies it now, keeping about the `retention` given to fresh(). Others trim
  /// as they append: nothing to do.
  virtual void apply_retention() {}
  /// The records that follow skip seqs no retention explains: a node reading them must
  /// report a gap.
  virtual void force_gap() {}
  /// Registers, as another node would have, a node with these subscribers that is already
  /// silent (it died without withdrawing them).
  virtual void plant_dead_node(const std::vector<SubscriberInfo>&) {}
  /// Kills the engine's server (SIGKILL) / starts it again with its data.
  virtual void kill() {}
  virtual void restart() {}
};

/// The engines the kit runs on, by name: "local", "lmdb", "redis", "postgres", "kafka", "generic".
Engine& engine(const std::string& name);

/// The engines this test binary runs the kit on, comma-separated. Defined once per binary
/// (kit_engines_*.cpp); the kit itself is compiled once for every binary.
const char* kit_engines();

}  // namespace herald::test
