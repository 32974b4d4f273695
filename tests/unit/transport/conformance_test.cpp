// The conformance kit: every transport runs it, with one node and with three nodes on the
// same engine where the engine is a cluster, through the hub's Backend (the transport's parts
// plus the generic id index and presence where the engine lacks them; the "generic" engine is
// a shared in-process log that lacks both, so those parts run here too). A new transport adds
// an Engine (conformance_engines.cpp) and its name below, and passes all of it.
#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include "hub/shard.hpp"
#include "support/node.hpp"
#include "support/recorder.hpp"
#include "support/run_task.hpp"
#include "transport/conformance_engines.hpp"

namespace herald {
namespace {
using test::Node;
using test::Recorder;

UpdatePtr update(std::string id, std::string topic = "https://example.com/t") {
  auto u = std::make_shared<Update>();
  u->id = std::move(id);
  u->topics = {std::move(topic)};
  u->data = "payload " + u->id;
  return u;
}

/// Polls `done` until it holds or `seconds` pass (for what has no event to wait on: TTLs,
/// health flags). Returns whether it held.
template <class Pred>
bool eventually(Pred done, int seconds = 10) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

struct Param {
  std::string engine;
  int nodes;
};
void PrintTo(const Param& p, std::ostream* os) { *os << p.engine << " x" << p.nodes; }

class Conformance : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    engine().fresh();
  }
  test::Engine& engine() { return test::engine(GetParam().engine); }
  int count() const { return GetParam().nodes; }

  /// A listening node on the current data (its recorder lives as long as the test).
  Node& add_node() {
    recorders_.push_back(std::make_unique<Recorder>());
    nodes_.push_back(std::make_unique<Node>(engine().node(), engine().options()));
    EXPECT_TRUE(run(nodes_.back()->listen(*recorders_.back())).has_value());
    return *nodes_.back();
  }
  void add_nodes() {
    for (int i = 0; i < count(); ++i) add_node();
  }
  Node& node(std::size_t i) { return *nodes_[i]; }
  Recorder& recorder(std::size_t i) { return *recorders_[i]; }
  void TearDown() override {
    nodes_.clear();  // closed before their recorders go
    recorders_.clear();
  }

  template <class T>
  T run(Task<T> task) { return test::run_task(io_, std::move(task)); }
  Seq publish(Node& n, UpdatePtr u) { return run(n.publish(std::move(u))).value(); }
  Seq publish(Node& n, const std::string& id) { return publish(n, update(id)); }

  /// Every retained record after `after`, paged.
  std::vector<Stored> read_all(Node& n, Seq after) {
    std::vector<Stored> out;
    for (int pages = 0; pages < 10000; ++pages) {
      auto page = run(n.read_after(after, 97)).value();
      if (page.empty()) break;
      out.insert(out.end(), page.begin(), page.end());
      after = page.back().seq;
    }
    return out;
  }
  static std::vector<Stored> updates_only(std::vector<Stored> v) {
    std::erase_if(v, [](const Stored& s) { return s.update->control; });
    return v;
  }

  boost::asio::io_context io_;
  std::vector<std::unique_ptr<Recorder>> recorders_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

// The tests that hold only for some engines run on those alone (instantiated below with the
// engines that have the capability), rather than being skipped on the others.
class HoldingConformance : public Conformance {};   ///< the log hands records over as it appends
class LaggingConformance : public Conformance {};   ///< a consumer of its own that can fall behind
class GapConformance : public Conformance {};       ///< force_gap()
class DeadNodeConformance : public Conformance {};  ///< plant_dead_node()
class RestartConformance : public Conformance {};   ///< kill() and restart()

TEST_P(Conformance, OneOrderOnEveryNodeAndThePublishedSeqIsTheDeliveredOne) {
  add_nodes();
  constexpr int kEach = 150;
  std::vector<std::map<std::string, Seq>> acked(static_cast<std::size_t>(count()) * 2);
  std::vector<std::thread> publishers;
  for (std::size_t p = 0; p < acked.size(); ++p) {
    publishers.emplace_back([&, p] {
      boost::asio::io_context io;
      Node& n = node(p % nodes_.size());
      for (int i = 0; i < kEach; ++i) {
        std::string id = "p" + std::to_string(p) + "-" + std::to_string(i);
        acked[p][id] = test::run_task(io, n.publish(update(id))).value();
      }
    });
  }
  for (auto& t : publishers) t.join();
  std::size_t total = acked.size() * kEach;
  std::vector<std::vector<Stored>> seen;
  for (std::size_t i = 0; i < nodes_.size(); ++i) seen.push_back(recorder(i).wait_seen(total));
  for (std::size_t i = 0; i < seen.size(); ++i) {
    ASSERT_EQ(seen[i].size(), total) << "node " << i;
    for (std::size_t k = 1; k < total; ++k) ASSERT_LT(seen[i][k - 1].seq, seen[i][k].seq) << "node " << i;
    for (std::size_t k = 0; k < total; ++k) {
      ASSERT_EQ(seen[i][k].seq, seen[0][k].seq) << "node " << i << " saw another order";
      ASSERT_EQ(seen[i][k].update->id, seen[0][k].update->id);
    }
  }
  for (const auto& s : seen[0]) {
    auto p = static_cast<std::size_t>(std::stoul(s.update->id.substr(1)));
    EXPECT_EQ(acked[p].at(s.update->id), s.seq) << "the seq acknowledged is not the seq delivered";
  }
  // A publisher's own updates stay in its order.
  for (std::size_t p = 0; p < acked.size(); ++p) {
    Seq last = 0;
    for (int i = 0; i < kEach; ++i) {
      Seq seq = acked[p]["p" + std::to_string(p) + "-" + std::to_string(i)];
      EXPECT_GT(seq, last);
      last = seq;
    }
  }
}

TEST_P(Conformance, HistoryWrittenOnOneNodeIsReadOnEvery) {
  add_nodes();
  Node& writer = node(0);
  Seq a = publish(writer, "a");
  Seq b = publish(writer, "b");
  Seq c = publish(writer, "c");
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    recorder(i).wait_seen(3);
    EXPECT_EQ(run(node(i).find("b")).value(), b) << "node " << i;
    EXPECT_EQ(run(node(i).last_event_id()).value(), "c");
    EXPECT_GE(run(node(i).head()).value(), c);  // the hub's own records (presence) may follow
    auto page = updates_only(run(node(i).read_after(a, 10)).value());
    ASSERT_EQ(page.size(), 2u);
    EXPECT_EQ(page[0].update->id, "b");
    EXPECT_EQ(page[1].seq, c);
    EXPECT_EQ(run(node(i).find("never")).error(), make_error_code(Errc::not_found));
  }
}

TEST_P(Conformance, EveryFieldSurvives) {
  add_nodes();
  auto u = std::make_shared<Update>();
  u->id = std::string(5000, 'x');
  u->topics = {"https://example.com/a", "https://example.com/b", "urn:c"};
  u->data = "line one\nline two\r\n\nline four";
  u->type = "custom-type";
  u->retry = 1234;
  u->is_private = true;
  auto empty_id = std::make_shared<Update>(*u);
  empty_id->id = "";
  empty_id->is_private = false;
  empty_id->subscription_event = true;
  Seq s1 = publish(node(0), u);
  Seq s2 = publish(node(0), empty_id);
  auto same = [](const Update& got, const Update& want) {
    EXPECT_EQ(got.id, want.id);
    EXPECT_EQ(got.topics, want.topics);
    EXPECT_EQ(got.data, want.data);
    EXPECT_EQ(got.type, want.type);
    EXPECT_EQ(got.retry, want.retry);
    EXPECT_EQ(got.is_private, want.is_private);
    EXPECT_EQ(got.subscription_event, want.subscription_event);
  };
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto seen = recorder(i).wait_seen(2);
    ASSERT_EQ(seen.size(), 2u);
    same(*seen[0].update, *u);
    same(*seen[1].update, *empty_id);
    auto page = updates_only(run(node(i).read_after(s1 - 1, 10)).value());
    ASSERT_EQ(page.size(), 2u);
    same(*page[0].update, *u);
    same(*page[1].update, *empty_id);
    EXPECT_EQ(page[1].seq, s2);
    EXPECT_EQ(run(node(i).find(u->id)).value(), s1) << "a 5,000-byte id";
    EXPECT_FALSE(run(node(i).find(std::string(5000, 'y'))).has_value());
  }
}

TEST_P(Conformance, ADuplicateIdResolvesToTheNewest) {
  add_nodes();
  publish(node(0), "dup");
  publish(node(0), "other");
  Seq newest = publish(node(nodes_.size() - 1), "dup");
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    recorder(i).wait_seen(3);
    EXPECT_EQ(run(node(i).find("dup")).value(), newest);
  }
}

TEST_P(Conformance, RetentionTrimsAndEarliestReplaysExactlyWhatIsRetained) {
  engine().fresh(10);
  add_nodes();
  constexpr int kTotal = 600;
  for (int i = 1; i <= kTotal; ++i) publish(node(0), "r" + std::to_string(i));
  engine().apply_retention();
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    Node& n = node(i);
    recorder(i).wait_seen(kTotal);
    EXPECT_EQ(run(n.find("r1")).error(), make_error_code(Errc::not_found)) << "a trimmed id was found";
    EXPECT_TRUE(run(n.find("r600")).has_value());
    Seq earliest = run(n.find("earliest")).value();
    EXPECT_EQ(earliest, run(n.earliest()).value());
    EXPECT_GT(earliest, 0u);
    auto records = read_all(n, earliest);
    ASSERT_FALSE(records.empty());
    // The oldest retained record may be a control record (a log-carried lease or presence
    // record from one of the nodes): earliest is just before it, whatever it is.
    EXPECT_EQ(records.front().seq, earliest + 1) << "earliest is not just before the oldest retained record";
    auto retained = updates_only(std::move(records));
    ASSERT_GE(retained.size(), 10u);
    ASSERT_LT(retained.size(), static_cast<std::size_t>(kTotal));
    EXPECT_EQ(retained.back().update->id, "r600");
    for (std::size_t k = 1; k < retained.size(); ++k) {
      EXPECT_LT(retained[k - 1].seq, retained[k].seq);
      // Updates are retained as a suffix of the log: nothing in the middle is missing.
      EXPECT_EQ(std::stoi(retained[k].update->id.substr(1)), std::stoi(retained[k - 1].update->id.substr(1)) + 1);
    }
    // A reader from before the trim is told it missed some.
    EXPECT_EQ(run(n.read_after(earliest - 1, 10)).error(), make_error_code(Errc::not_found));
    EXPECT_EQ(run(n.read_after(0, 10)).error(), make_error_code(Errc::not_found));
  }
}

TEST_P(HoldingConformance, FlowControlHoldsThePublisherWhenNoConsumerCanPause) {
  add_nodes();
  Node& full = node(nodes_.size() - 1);
  full.gate().add(1u << 20);  // that node's shards are full
  auto held = std::async(std::launch::async, [&] {
    boost::asio::io_context io;
    return test::run_task(io, node(0).publish(update("held")));
  });
  EXPECT_EQ(held.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
      << "published past a full node's inbox";
  full.gate().remove(1u << 20);
  ASSERT_EQ(held.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(held.get().has_value());
  for (std::size_t i = 0; i < nodes_.size(); ++i) EXPECT_EQ(recorder(i).wait_seen(1).size(), 1u);
}

TEST_P(LaggingConformance, ATrimANodeHadNotReadIsReportedAsAGap) {
  engine().fresh(10);
  add_nodes();
  Node& behind = node(1);
  // Pause node 1's consumer (its shards are "full"). A consumer already waiting for the
  // engine when the gate closes may hand over that one batch (some of the first updates, or on
  // an engine whose log carries the nodes' heartbeats, one of those), then takes no more.
  behind.gate().add(1u << 20);
  publish(node(0), "first");
  for (int i = 0; i < 600; ++i) publish(node(0), "t" + std::to_string(i));
  publish(node(0), "marker");
  ASSERT_EQ(recorder(0).wait_seen(602).size(), 602u);
  std::size_t taken = recorder(1).snapshot().size();
  EXPECT_LT(taken, 602u) << "a paused consumer kept delivering";
  // One more update, seen by the running node: the paused one, had it gone on, would have had it.
  publish(node(0), "probe");
  ASSERT_EQ(recorder(0).wait_seen(603).size(), 603u);
  EXPECT_EQ(recorder(1).snapshot().size(), taken) << "a paused consumer kept delivering";
  engine().apply_retention();
  behind.gate().remove(1u << 20);  // the shards caught up: the consumer resumes, past a trim
  ASSERT_TRUE(recorder(1).wait([&] { return recorder(1).gaps > 0; })) << "the trim went unreported";
  ASSERT_TRUE(recorder(1).wait([&] { return !recorder(1).seen.empty() && recorder(1).seen.back().update->id == "probe"; }));
}

TEST_P(GapConformance, AGapForcedByTheEngineIsReported) {
  add_nodes();
  publish(node(0), "a");
  for (std::size_t i = 0; i < nodes_.size(); ++i) recorder(i).wait_seen(1);
  engine().force_gap();
  publish(node(0), "b");
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    ASSERT_EQ(recorder(i).wait_seen(2).size(), 2u);
    std::lock_guard lock(recorder(i).mutex);
    EXPECT_EQ(recorder(i).gaps, 1) << "node " << i;
    EXPECT_EQ(recorder(i).seen[1].update->id, "b");
  }
}

TEST_P(Conformance, ReadAfterEdgeCases) {
  add_nodes();
  publish(node(0), "a");
  Seq head = publish(node(0), "b");
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    recorder(i).wait_seen(2);
    EXPECT_TRUE(run(node(i).read_after(0, 0)).value().empty()) << "limit 0";
    // (The hub's own presence records may follow "b" on an engine without presence.)
    EXPECT_TRUE(updates_only(run(node(i).read_after(head, 10)).value()).empty()) << "after = head";
    // (Other nodes' presence records may land between head() and read_after: updates only.)
    Seq now = run(node(i).head()).value();
    EXPECT_TRUE(updates_only(run(node(i).read_after(now, 10)).value()).empty()) << "after = head";
    EXPECT_TRUE(updates_only(run(node(i).read_after(now + 100, 10)).value()).empty()) << "after > head";
    auto one = updates_only(run(node(i).read_after(head - 1, 1)).value());
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].update->id, "b");
  }
}

TEST_P(Conformance, ListenDeliversWhatFollowsAndCloseEndsEverything) {
  Node& first = add_node();
  publish(first, "before");
  ASSERT_EQ(recorder(0).wait_seen(1).size(), 1u);
  if (engine().multi_node()) {
    Node& late = add_node();  // listens after "before": gets only what follows
    publish(first, "after");
    auto seen = recorder(1).wait_seen(1);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].update->id, "after");
    run(late.close());
    run(late.close());  // idempotent
    EXPECT_EQ(run(late.publish(update("x"))).error(), make_error_code(Errc::closed));
    EXPECT_EQ(run(late.head()).error(), make_error_code(Errc::closed));
    publish(first, "after-close");
    recorder(0).wait_seen(3);
    EXPECT_EQ(recorder(1).snapshot().size(), 1u) << "a closed node's listener was called";
  } else {
    run(first.close());
    EXPECT_EQ(run(first.publish(update("x"))).error(), make_error_code(Errc::closed));
    EXPECT_EQ(run(first.read_after(0, 10)).error(), make_error_code(Errc::closed));
    EXPECT_EQ(recorder(0).snapshot().size(), 1u);
  }
}

TEST_P(Conformance, PresenceIsTheSameOnEveryNode) {
  add_nodes();
  Node& a = node(0);
  Node& b = node(nodes_.size() - 1);
  ASSERT_TRUE(run(a.announce({"s1", {"t1"}, R"({"v":1})"}, true)).has_value());
  ASSERT_TRUE(run(b.announce({"s2", {"t2", "t3"}, ""}, true)).has_value());
  ASSERT_TRUE(run(a.announce({"s3", {"t1"}, ""}, true)).has_value());
  ASSERT_TRUE(run(a.announce({"s1", {"t1"}, R"({"v":2})"}, true)).has_value());  // replaces
  ASSERT_TRUE(run(a.announce({"s3", {"t1"}, ""}, false)).has_value());
  std::vector<std::string> order;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    std::vector<SubscriberInfo> list;
    // Presence is eventually the same everywhere (a bus or a heartbeat away): bounded.
    eventually([&] {
      list = run(node(i).presence()).value();
      return list.size() == 2 && (list[0].id == "s1" ? list[0] : list[1]).payload_json == R"({"v":2})";
    });
    ASSERT_EQ(list.size(), 2u) << "node " << i;
    std::vector<std::string> ids;
    for (auto& s : list) {
      ids.push_back(s.id);
      if (s.id == "s1") {
        EXPECT_EQ(s.payload_json, R"({"v":2})");
      }
      if (s.id == "s2") {
        EXPECT_EQ(s.topics, (std::vector<std::string>{"t2", "t3"}));
      }
    }
    if (order.empty()) order = ids;
    EXPECT_EQ(ids, order) << "node " << i << " lists another order";
    EXPECT_EQ(run(node(i).presence()).value().size(), 2u);
    std::vector<std::string> again;
    for (auto& s : run(node(i).presence()).value()) again.push_back(s.id);
    EXPECT_EQ(again, ids) << "the order is not stable";
  }
}

TEST_P(Conformance, EveryNodeListsTheLiveNodesWithTheirAddresses) {
  add_nodes();
  std::set<std::string> wanted;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    node(i).describe("127.0.0.1:" + std::to_string(9100 + i));
    wanted.insert("127.0.0.1:" + std::to_string(9100 + i));
  }
  ASSERT_TRUE(run(node(0).announce({"sub-1", {"t"}, ""}, true)).has_value());
  auto addresses = [&](std::size_t i) {
    std::set<std::string> got;
    auto listed = run(node(i).nodes());
    if (listed)
      for (auto& n : *listed) got.insert(n.address);
    return got;
  };
  // Bounded: addresses reach the registry with the next heartbeat (test TTL 1 s: every 1/3 s).
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    ASSERT_TRUE(eventually([&] { return addresses(i) == wanted; })) << "node " << i << " lists another cluster";
  ASSERT_TRUE(eventually([&] {
    auto listed = run(node(nodes_.size() - 1).nodes()).value();
    std::vector<std::string> ids;
    for (auto& n : listed) ids.push_back(n.id);
    bool sorted = std::is_sorted(ids.begin(), ids.end());
    std::uint64_t subs = 0;
    for (auto& n : listed) subs += n.subscribers;
    return sorted && subs == 1;
  })) << "not sorted by id, or the subscriber count never reached the registry";
  for (auto& n : run(node(0).nodes()).value()) {
    EXPECT_GT(n.pid, 0);
    EXPECT_FALSE(n.host.empty());
    EXPECT_GT(n.started_at_ms, 0);
    EXPECT_GE(n.last_heartbeat_ms, n.started_at_ms - 60000) << "heartbeat and start in one clock";
  }
}

TEST_P(Conformance, EveryNodeSeesWhatAnotherReportsOfItself) {
  add_nodes();
  auto& reporter = node(nodes_.size() - 1);
  reporter.backend().report(42, true);
  const std::string id = reporter.backend().node_id();
  // Bounded: the report travels with the next heartbeat (test TTL 1 s: every 1/3 s).
  ASSERT_TRUE(eventually([&] {
    auto listed = run(node(0).nodes());
    if (!listed) return false;
    for (auto& n : *listed)
      if (n.id == id) return n.delivered == 42 && n.draining && n.state != NodeState::dead;
    return false;
  })) << "the delivered position or the drain did not reach the registry";
}

TEST(NodeState, FollowsTheHeartbeatsAge) {
  EXPECT_EQ(node_state(0, 15000), NodeState::alive);
  EXPECT_EQ(node_state(10000, 15000), NodeState::alive);     // two beats (every 5 s) just met
  EXPECT_EQ(node_state(10001, 15000), NodeState::suspect);   // two beats missed
  EXPECT_EQ(node_state(15000, 15000), NodeState::suspect);
  EXPECT_EQ(node_state(15001, 15000), NodeState::dead);      // silent past the TTL
}

TEST_P(DeadNodeConformance, ADeadNodesSubscribersAreReportedOnce) {
  add_nodes();
  engine().plant_dead_node({{"ghost-1", {"t"}, ""}, {"ghost-2", {"u"}, ""}});
  auto reported = [&] {
    std::size_t n = 0;
    for (auto& r : recorders_) {
      std::lock_guard lock(r->mutex);
      n += r->lost.size();
    }
    return n;
  };
  // Bounded: the dead node expires after the test TTL (1 s) and one survivor reaps it.
  ASSERT_TRUE(eventually([&] { return reported() >= 2; })) << "the dead node's subscribers were not reported";
  // Two more TTLs: nobody reports them again (an absence has no event to wait for).
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(reported(), 2u) << "reported more than once";
  std::size_t reporters = 0;
  for (auto& r : recorders_) {
    std::lock_guard lock(r->mutex);
    if (!r->lost.empty()) ++reporters;
  }
  EXPECT_EQ(reporters, 1u);
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    for (auto& s : run(node(i).presence()).value()) EXPECT_NE(s.id.rfind("ghost", 0), 0u);
}

TEST_P(RestartConformance, AnEngineKilledAndRestartedLosesNothingAcknowledged) {
  add_nodes();
  for (int i = 0; i < 20; ++i) publish(node(0), "before" + std::to_string(i));
  for (std::size_t i = 0; i < nodes_.size(); ++i) recorder(i).wait_seen(20);
  engine().kill();
  ASSERT_TRUE(eventually([&] { return !node(0).healthy(); }, 5)) << "healthy() stayed true with the engine dead";
  Result<Seq> while_down = make_error_code(Errc::transport_failure);
  std::jthread publisher([&] {  // (joined on every path: a restart that throws fails the test)
    boost::asio::io_context io;
    while_down = test::run_task(io, node(0).publish(update("while-down")));
  });
  engine().restart();
  publisher.join();
  ASSERT_TRUE(while_down.has_value()) << "a publish made during the outage failed";
  for (int i = 0; i < 20; ++i) publish(node(0), "after" + std::to_string(i));
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto seen = recorder(i).wait_seen(41);
    ASSERT_EQ(seen.size(), 41u) << "node " << i;
    EXPECT_EQ(seen[20].update->id, "while-down");
    EXPECT_EQ(seen[40].update->id, "after19");
    std::lock_guard lock(recorder(i).mutex);
    EXPECT_EQ(recorder(i).gaps, 0);
  }
  EXPECT_TRUE(eventually([&] { return node(0).healthy(); }, 5)) << "healthy() did not come back within 5 s";
}

TEST_P(Conformance, LeasesGrantOneHolderWithIncreasingFencingTokens) {
  add_nodes();
  Leases& a = node(0).leases();
  Leases& b = node(nodes_.size() - 1).leases();
  auto first = run(a.acquire("job", std::chrono::seconds(30))).value();
  ASSERT_TRUE(first.has_value());
  // Every node names the holder: the node id the registry lists it under.
  EXPECT_EQ(run(b.holder("job")).value(), std::optional<std::string>(node(0).backend().node_id()));
  EXPECT_EQ(run(a.holder("job")).value(), std::optional<std::string>(node(0).backend().node_id()));
  EXPECT_EQ(run(b.holder("never-granted")).value(), std::nullopt);
  EXPECT_FALSE(run(b.acquire("job", std::chrono::seconds(30))).value().has_value()) << "two holders";
  EXPECT_TRUE(run(a.renew(*first, std::chrono::seconds(30))).value());
  ASSERT_TRUE(run(a.release(*first)).has_value());
  EXPECT_EQ(run(b.holder("job")).value(), std::nullopt) << "a released lease still has a holder";
  auto second = run(b.acquire("job", std::chrono::milliseconds(200))).value();
  ASSERT_TRUE(second.has_value());
  EXPECT_GT(second->token, first->token);
  EXPECT_FALSE(run(a.renew(*first, std::chrono::seconds(30))).value()) << "a released lease was renewed";
  // An expired lease goes to the next node that asks (bounded by the 200 ms TTL).
  std::optional<Lease> third;
  eventually([&] {
    third = run(a.acquire("job", std::chrono::seconds(30))).value();
    return third.has_value();
  }, 5);
  ASSERT_TRUE(third.has_value()) << "an expired lease was not granted again";
  EXPECT_GT(third->token, second->token);
  EXPECT_FALSE(run(b.renew(*second, std::chrono::seconds(30))).value());
}

/// Feeds a shard as Hub::on_update does.
struct Feed final : Listener {
  explicit Feed(Shard& s) : shard(s) {}
  void on_update(Stored stored) noexcept override { shard.enqueue(std::move(stored)); }
  void on_error(boost::system::error_code) noexcept override {}
  void on_gap() noexcept override { gaps++; }
  void on_subscribers_lost(std::vector<SubscriberInfo>) noexcept override {}
  Shard& shard;
  std::atomic<int> gaps{0};
};

/// The replay handover on the real engine: a subscriber that reconnects with a Last-Event-ID
/// while publishers run gets every later update once, in order, then the live ones.
TEST_P(Conformance, ReplayHandoverWhilePublishersRunHasNoGapAndNoDuplicate) {
  Config config;
  FlowGate gate(1u << 20, 1u << 19);
  Shard shard(0, config, gate);
  Feed feed(shard);
  // The shard's node: a node of its own next to the writers on a cluster engine, the only
  // node (also the writer) on a single-node one.
  auto reader = std::make_unique<Node>(engine().node(), engine().options());
  shard.attach(reader->backend());
  ASSERT_TRUE(run(reader->listen(feed)).has_value());
  if (engine().multi_node()) add_nodes();
  auto writer = [&](int i) -> Node& { return nodes_.empty() ? *reader : node(static_cast<std::size_t>(i) % nodes_.size()); };
  auto work = boost::asio::make_work_guard(shard.context());
  std::thread loop([&] { shard.context().run(); });
  constexpr int kBefore = 2500, kDuring = 4000;
  for (int i = 0; i < kBefore; ++i) publish(writer(0), "h" + std::to_string(i));
  // Publishing goes on through the whole replay (several pages) and its handover to live.
  std::atomic<int> acked{0};
  std::thread publisher([&] {
    boost::asio::io_context io;
    for (int i = 0; i < kDuring; ++i) {
      test::run_task(io, writer(i).publish(update("l" + std::to_string(i)))).value();
      ++acked;
    }
  });
  eventually([&] { return acked.load() >= 200; });
  auto s = std::make_shared<Subscriber>(100000);
  s->topics = {"https://example.com/t"};
  auto subscribed = boost::asio::co_spawn(shard.context(), shard.subscribe(s, std::string("h99")), boost::asio::use_future);
  ASSERT_TRUE(subscribed.get().value().cursor_found);
  std::vector<std::string> got;
  // What the SSE writer does: take the queue, and ask for the next page when it is empty.
  auto drain = [&] {
    boost::asio::co_spawn(
        shard.context(),
        [&]() -> Task<void> {
          if (s->replaying && s->queue().empty()) co_await shard.replay_next(s);
          for (const auto& f : s->queue()) {
            auto start = f->find("id: ") + 4;
            got.push_back(f->substr(start, f->find('\n', start) - start));
          }
          s->queue().clear();
        },
        boost::asio::use_future)
        .get();
  };
  const std::size_t want = (kBefore - 100) + kDuring;
  eventually([&] {
    drain();
    return got.size() >= want;
  }, 60);
  publisher.join();
  drain();
  boost::asio::post(shard.context(), [&] { shard.close_all(); });
  reader->close_now();
  work.reset();
  shard.context().stop();
  loop.join();
  ASSERT_EQ(got.size(), want) << "missed or duplicated updates";
  std::set<std::string> unique(got.begin(), got.end());
  EXPECT_EQ(unique.size(), got.size()) << "a duplicate";
  for (int i = 0; i < kBefore - 100; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], "h" + std::to_string(i + 100));
  for (std::size_t k = kBefore - 100; k < got.size(); ++k)
    EXPECT_EQ(got[k], "l" + std::to_string(k - (kBefore - 100))) << "out of order";
  EXPECT_EQ(feed.gaps.load(), 0);
}

/// The engines this test binary runs the kit on (test::kit_engines(), comma-separated: the
/// engines that need a server have a binary, and a ctest label, of their own).
/// Three nodes only on an engine that serves several.
std::vector<Param> params() {
  std::vector<Param> out;
  std::string engines = test::kit_engines();
  for (std::size_t at = 0; at <= engines.size();) {
    auto comma = std::min(engines.find(',', at), engines.size());
    std::string name = engines.substr(at, comma - at);
    out.push_back({name, 1});
    if (test::engine(name).multi_node()) out.push_back({name, 3});
    at = comma + 1;
  }
  return out;
}

std::vector<Param> params_where(bool (*keep)(const Param&)) {
  std::vector<Param> out;
  for (auto& p : params())
    if (keep(p)) out.push_back(p);
  return out;
}
std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  return info.param.engine + "_" + std::to_string(info.param.nodes) + "node";
}
const test::Engine& engine_of(const Param& p) { return test::engine(p.engine); }

INSTANTIATE_TEST_SUITE_P(Engines, Conformance, ::testing::ValuesIn(params()), param_name);
INSTANTIATE_TEST_SUITE_P(Engines, HoldingConformance, ::testing::ValuesIn(params_where([](const Param& p) {
                           return !engine_of(p).consumer_lags();
                         })), param_name);
INSTANTIATE_TEST_SUITE_P(Engines, LaggingConformance, ::testing::ValuesIn(params_where([](const Param& p) {
                           return p.nodes >= 2 && engine_of(p).consumer_lags();
                         })), param_name);
INSTANTIATE_TEST_SUITE_P(Engines, GapConformance, ::testing::ValuesIn(params_where([](const Param& p) {
                           return engine_of(p).can_force_gap();
                         })), param_name);
INSTANTIATE_TEST_SUITE_P(Engines, DeadNodeConformance, ::testing::ValuesIn(params_where([](const Param& p) {
                           return engine_of(p).can_plant_dead_node();
                         })), param_name);
INSTANTIATE_TEST_SUITE_P(Engines, RestartConformance, ::testing::ValuesIn(params_where([](const Param& p) {
                           return engine_of(p).can_restart();
                         })), param_name);
// A binary whose engines all lack a capability instantiates that suite with no engine.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(HoldingConformance);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(LaggingConformance);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GapConformance);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(DeadNodeConformance);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RestartConformance);

TEST(Transports, BadUrlsAreConfigErrors) {
  EXPECT_THROW(make_transport("local://?size=abc"), std::exception);
  EXPECT_THROW(make_transport("local://?bogus=1"), std::exception);
  EXPECT_THROW(make_transport("nosuch://x"), std::exception);
  EXPECT_THROW(make_transport("::not a url"), std::exception);
}

}  // namespace
}  // namespace herald
