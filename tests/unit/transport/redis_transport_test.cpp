// Redis-specific behaviour, against a real redis-server started per test: several nodes on
// one stream, trimming, credentials, a Redis restart, presence across nodes and the reaping
// of a dead node's subscribers.
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "support/node.hpp"
#include "support/recorder.hpp"
#include "support/redis_server.hpp"
#include "support/run_task.hpp"
#include "transport/redis/redis_options.hpp"
#include "transport/transport.hpp"

#include <boost/url/parse.hpp>

namespace herald {
namespace {

std::string resp(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

using test::Recorder;

UpdatePtr update(std::string id) {
  auto u = std::make_shared<Update>();
  u->id = std::move(id);
  u->topics = {"https://example.com/t"};
  u->data = "data of " + u->id;
  return u;
}

class RedisTransportTest : public ::testing::Test {
 protected:
  template <class T>
  T run(Task<T> t) { return test::run_task(io_, std::move(t)); }
  std::unique_ptr<test::Node> node(Recorder& r, const std::string& query = "") {
    auto t = std::make_unique<test::Node>(redis_.url("cluster") + query);
    EXPECT_TRUE(run(t->listen(r)).has_value());
    return t;
  }
  Result<Seq> publish(test::Node& t, const std::string& id) { return run(t.publish(update(id))); }

  test::RedisServer redis_;
  boost::asio::io_context io_;
};

TEST(RedisOptions, ParsesTheMercureHaUrlForm) {
  auto o = parse_redis_url(*boost::urls::parse_uri("redis://alice:s%40cret@redis.example:6380/mercure-ha?max_len_approx=5000&db=2"));
  EXPECT_EQ(o.host, "redis.example");
  EXPECT_EQ(o.port, 6380);
  EXPECT_EQ(o.user, "alice");
  EXPECT_EQ(o.password, "s@cret");
  EXPECT_EQ(o.stream, "mercure-ha");
  EXPECT_EQ(o.max_len_approx, 5000u);
  EXPECT_EQ(o.db, 2);
  EXPECT_FALSE(o.tls);
  auto p = parse_redis_url(*boost::urls::parse_uri("redis://:only-password@127.0.0.1/s?tls=1"));
  EXPECT_EQ(p.user, "");
  EXPECT_EQ(p.password, "only-password");
  EXPECT_TRUE(p.tls);
  EXPECT_EQ(p.port, 6379);
  EXPECT_TRUE(parse_redis_url(*boost::urls::parse_uri("rediss://h/s")).tls);
}

TEST(RedisOptions, BadUrlsAreOneLineConfigErrors) {
  for (const char* url : {"redis://h:0/s", "redis://h:99999/s", "redis://h/s?max_len_approx=-1", "redis://h/s?tls=maybe",
                          "redis://h/s?bogus=1", "redis:///s", "redis://h/a%7Bb%7D", "redis://h/s?presence_ttl=0s"}) {
    try {
      make_transport(url);
      ADD_FAILURE() << url << " was accepted";
    } catch (const ConfigError& e) {
      std::string what = e.what();
      EXPECT_TRUE(what.starts_with("invalid transport_url: ")) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  }
}

TEST_F(RedisTransportTest, UpdatesReachEveryNodeInOneOrder) {
  Recorder ra, rb, rc;
  auto a = node(ra), b = node(rb), c = node(rc);
  std::vector<std::thread> publishers;
  for (test::Node* t : {a.get(), b.get(), c.get()}) {
    publishers.emplace_back([t, this] {
      boost::asio::io_context io;
      for (int i = 0; i < 100; ++i) ASSERT_TRUE(test::run_task(io, t->publish(update("u"))).has_value());
    });
  }
  for (auto& p : publishers) p.join();
  for (Recorder* r : {&ra, &rb, &rc}) ASSERT_TRUE(r->wait([&] { return r->seen.size() >= 300; }));
  for (std::size_t i = 0; i < 300; ++i) {
    EXPECT_EQ(ra.seen[i].seq, i + 1);  // dense, gapless, the same on every node
    EXPECT_EQ(rb.seen[i].seq, ra.seen[i].seq);
    EXPECT_EQ(rc.seen[i].seq, ra.seen[i].seq);
  }
  EXPECT_EQ(ra.gaps + rb.gaps + rc.gaps, 0);
}

TEST_F(RedisTransportTest, HistoryPublishedOnOneNodeIsFoundOnAnother) {
  Recorder ra, rb;
  auto a = node(ra), b = node(rb);
  publish(*a, "first").value();
  Seq second = publish(*a, "second").value();
  publish(*a, "third").value();
  EXPECT_EQ(run(b->find("second")).value(), second);
  EXPECT_EQ(run(b->last_event_id()).value(), "third");
  auto page = run(b->read_after(second, 10)).value();
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].update->id, "third");
  EXPECT_EQ(page[0].update->data, "data of third");
  EXPECT_EQ(run(b->find("never-published")).error(), make_error_code(Errc::not_found));
}

TEST_F(RedisTransportTest, TrimmingDropsOldUpdatesAndTheirIds) {
  Recorder r;
  auto t = node(r, "?max_len_approx=10");
  for (int i = 1; i <= 500; ++i) publish(*t, "id" + std::to_string(i)).value();
  EXPECT_EQ(run(t->find("id1")).error(), make_error_code(Errc::not_found));
  EXPECT_TRUE(run(t->find("id500")).has_value());
  EXPECT_EQ(run(t->read_after(1, 10)).error(), make_error_code(Errc::not_found));  // what followed 1 is gone
  auto kept = redis_.raw_command(resp({"XLEN", "cluster"}));
  auto ids = redis_.raw_command(resp({"ZCARD", "cluster:ids"}));
  EXPECT_LT(std::stoi(kept.substr(1)), 500);
  EXPECT_EQ(kept, ids);  // the id index is trimmed with the stream
  // Under the seam's contract a reader from 0 missed what was trimmed; "earliest" is the
  // position just before what is retained.
  EXPECT_EQ(run(t->read_after(0, 1000)).error(), make_error_code(Errc::not_found));
  auto all = run(t->read_after(run(t->find("earliest")).value(), 1000)).value();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.back().update->id, "id500");
}

TEST_F(RedisTransportTest, RedisRestartCostsNeitherUpdatesNorPublishes) {
  Recorder r;
  auto t = node(r);
  for (int i = 0; i < 20; ++i) publish(*t, "before" + std::to_string(i)).value();
  ASSERT_TRUE(r.wait([&] { return r.seen.size() >= 20; }));
  redis_.stop(true);  // kill -9: the append-only file (fsync always) keeps every acknowledged update
  for (int i = 0; i < 200 && t->healthy(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_FALSE(t->healthy());
  // A publish made while Redis is down waits for it (connect_timeout) instead of failing.
  Result<Seq> while_down = make_error_code(Errc::transport_failure);
  std::thread publisher([&] {
    boost::asio::io_context io;
    while_down = test::run_task(io, t->publish(update("while-down")));
  });
  redis_.start();
  publisher.join();
  ASSERT_TRUE(while_down.has_value()) << "the publish made during the outage failed";
  for (int i = 0; i < 20; ++i) publish(*t, "after" + std::to_string(i)).value();
  ASSERT_TRUE(r.wait([&] { return r.seen.size() >= 41; }));
  std::lock_guard lock(r.mutex);
  ASSERT_EQ(r.seen.size(), 41u);
  for (std::size_t i = 0; i < 41; ++i) EXPECT_EQ(r.seen[i].seq, i + 1);
  EXPECT_EQ(r.seen[20].update->id, "while-down");
  EXPECT_EQ(r.seen[21].update->id, "after0");
  EXPECT_EQ(r.gaps, 0);
}

TEST_F(RedisTransportTest, WrongPasswordIsAConfigErrorAndTheRightOneWorks) {
  test::RedisServer secured("--requirepass s3cret");
  std::string base = "127.0.0.1:" + std::to_string(secured.port()) + "/s";
  try {
    make_transport("redis://:wrong@" + base);
    ADD_FAILURE() << "a wrong password was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("Redis refused the connection (WRONGPASS"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("wrong@"), std::string::npos) << "the URL's password leaked";
  }
  EXPECT_THROW(make_transport("redis://" + base), ConfigError);  // no password at all
  EXPECT_THROW(make_transport("redis://:s3cret@" + base + "?db=1000"), ConfigError);  // no such database (16 by default)
  Recorder r;  // declared first: the listener must outlive the transport that calls it
  auto t = std::make_unique<test::Node>("redis://:s3cret@" + base);
  ASSERT_TRUE(run(t->listen(r)).has_value());
  EXPECT_TRUE(publish(*t, "x").has_value());
}

TEST_F(RedisTransportTest, UnreachableRedisIsUnhealthyNotFatal) {
  int port = redis_.port();
  redis_.stop();
  auto t = std::make_unique<test::Node>("redis://127.0.0.1:" + std::to_string(port) + "/s?connect_timeout=1s");
  EXPECT_FALSE(t->healthy());
  EXPECT_FALSE(publish(*t, "x").has_value());
  run(t->close());
}

TEST_F(RedisTransportTest, PresenceListsEveryNodesSubscribers) {
  Recorder ra, rb;
  auto a = node(ra), b = node(rb);
  ASSERT_TRUE(run(a->announce(SubscriberInfo{"sub-a", {"t1"}, R"({"u":1})"}, true)).has_value());
  ASSERT_TRUE(run(b->announce(SubscriberInfo{"sub-b", {"t2", "t3"}, ""}, true)).has_value());
  // A node is listed once its first heartbeat is in: both have beaten when they connected.
  for (test::Node* t : {a.get(), b.get()}) {
    auto list = run(t->presence()).value();
    std::vector<std::string> ids;
    for (auto& s : list) ids.push_back(s.id);
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<std::string>{"sub-a", "sub-b"}));
  }
  ASSERT_TRUE(run(b->announce(SubscriberInfo{"sub-b", {"t2", "t3"}, ""}, false)).has_value());
  auto list = run(a->presence()).value();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].id, "sub-a");
  EXPECT_EQ(list[0].payload_json, R"({"u":1})");
  run(b->close());  // a clean stop leaves the registry at once
  EXPECT_EQ(redis_.raw_command(resp({"ZCARD", "cluster:nodes"})), ":1\r\n");
}

TEST_F(RedisTransportTest, ADeadNodesSubscribersAreReportedOnceByOneSurvivor) {
  Recorder ra, rb;
  auto a = node(ra, "?presence_ttl=1s"), b = node(rb, "?presence_ttl=1s");
  // A node that stopped heart-beating long ago, with two subscribers.
  // (Subscribers first: a node that is listed is reaped at the next heartbeat.)
  redis_.raw_command(resp({"HSET", "cluster:subs:dead-node", "ghost-1", R"({"id":"ghost-1","topics":["t"],"payload":""})",
                           "ghost-2", R"({"id":"ghost-2","topics":["u"],"payload":""})"}));
  redis_.raw_command(resp({"ZADD", "cluster:nodes", "1", "dead-node"}));
  auto both = [&] {
    std::scoped_lock lock(ra.mutex, rb.mutex);
    return ra.lost.size() + rb.lost.size();
  };
  // Both survivors heartbeat (and try to reap) every ttl/3; the reap script hands the dead
  // node's records to whichever runs first and removes them in the same step.
  for (int i = 0; i < 1500 && both() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(both(), 2u);
  EXPECT_EQ(redis_.raw_command(resp({"ZSCORE", "cluster:nodes", "dead-node"})), "$-1\r\n");
  EXPECT_EQ(redis_.raw_command(resp({"EXISTS", "cluster:subs:dead-node"})), ":0\r\n");
  EXPECT_TRUE(ra.lost.empty() || rb.lost.empty()) << "reported by both nodes";
  auto list = run(a->presence()).value();
  for (auto& s : list) EXPECT_NE(s.id.rfind("ghost", 0), 0u);
}

TEST_F(RedisTransportTest, SubscriptionEventsAreBoundedApartAndTheirHolesAreNoGap) {
  Recorder r;
  auto t = node(r, "?max_len_approx=5&events_size=3");
  Seq a = publish(*t, "a").value();
  Seq first_event = 0;
  for (int i = 0; i < 200; ++i) {
    auto e = std::make_shared<Update>(*update("e" + std::to_string(i)));
    e->subscription_event = true;
    Seq s = run(t->publish(e)).value();
    if (i == 0) first_event = s;
  }
  Seq b = publish(*t, "b").value();
  ASSERT_TRUE(r.wait([&] { return !r.seen.empty() && r.seen.back().seq == b; }));
  EXPECT_TRUE(run(t->find("a")).has_value()) << "events crowded an update out of max_len_approx";
  EXPECT_FALSE(run(t->find("e196")).has_value());
  EXPECT_TRUE(run(t->find("e197")).has_value());
  auto kept = redis_.raw_command(resp({"XLEN", "cluster"}));
  EXPECT_LE(std::stoi(kept.substr(1)), 5 + 3 + 100) << kept;  // ~ trimming works by whole nodes
  // A reader on an event that gave way, or on "a", is not told it missed updates.
  auto page = run(t->read_after(first_event, 100));
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->back().update->id, "b");
  EXPECT_TRUE(run(t->read_after(a, 100)).has_value());
  std::lock_guard lock(r.mutex);
  EXPECT_EQ(r.gaps, 0);
}

TEST_F(RedisTransportTest, AHoleInTheSequenceIsReportedAsAGap) {
  Recorder r;
  auto t = node(r);
  publish(*t, "a").value();
  ASSERT_TRUE(r.wait([&] { return r.seen.size() >= 1; }));
  // As if entries 2..5 had been trimmed before this node read them.
  ASSERT_EQ(redis_.raw_command(resp({"SET", "cluster:seq", "5"})), "+OK\r\n");
  Seq next = publish(*t, "b").value();
  EXPECT_EQ(next, 6u);
  ASSERT_TRUE(r.wait([&] { return r.seen.size() >= 2; }));
  std::lock_guard lock(r.mutex);
  EXPECT_EQ(r.gaps, 1);
  EXPECT_EQ(r.seen[1].update->id, "b");  // delivered after the gap was reported
}

TEST_F(RedisTransportTest, EveryNodeIsInTheRegistry) {
  Recorder ra, rb;
  auto a = node(ra), b = node(rb);
  EXPECT_EQ(redis_.raw_command(resp({"ZCARD", "cluster:nodes"})), ":2\r\n");
  ASSERT_TRUE(run(a->announce(SubscriberInfo{"s", {"t"}, ""}, true)).has_value());
  auto members = redis_.raw_command(resp({"ZRANGE", "cluster:nodes", "0", "-1"}));
  // Each node's record: its id, host, pid, start time and subscriber count.
  std::size_t at = members.find("\r\n$");
  ASSERT_NE(at, std::string::npos);
  auto id = members.substr(members.find("\r\n", at + 3) + 2, 36);
  auto info = redis_.raw_command(resp({"HGET", "cluster:node:" + id, "info"}));
  EXPECT_NE(info.find("\"id\":\"" + id + "\""), std::string::npos) << info;
  for (const char* field : {"\"host\"", "\"pid\"", "\"started_at_ms\"", "\"subscribers\""})
    EXPECT_NE(info.find(field), std::string::npos) << field << " in " << info;
}

class RedisTls : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/herald-tls-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext "
                      "subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " + dir_ + "/key.pem -out " + dir_ +
                      "/cert.pem >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl could not make a certificate";
    tls_port_ = test::RedisServer::free_port();
    server_ = std::make_unique<test::RedisServer>("--tls-port " + std::to_string(tls_port_) + " --tls-cert-file " +
                                                  dir_ + "/cert.pem --tls-key-file " + dir_ + "/key.pem " +
                                                  "--tls-auth-clients no");
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string url(const std::string& query) {
    return "rediss://127.0.0.1:" + std::to_string(tls_port_) + "/s" + query;
  }
  std::string dir_;
  int tls_port_ = 0;
  std::unique_ptr<test::RedisServer> server_;
  boost::asio::io_context io_;
};

TEST_F(RedisTls, ConnectsOverTlsTrustingTheGivenCa) {
  Recorder r;  // declared first: the listener must outlive the transport that calls it
  auto t = std::make_unique<test::Node>(url("?tls_ca_file=" + dir_ + "/cert.pem"));
  ASSERT_TRUE(test::run_task(io_, t->listen(r)).has_value());
  EXPECT_TRUE(test::run_task(io_, t->publish(update("over-tls"))).has_value());
  ASSERT_TRUE(r.wait([&] { return r.seen.size() >= 1; }));
  EXPECT_EQ(r.seen[0].update->id, "over-tls");
}

TEST_F(RedisTls, AnUntrustedCertificateIsRefusedUnlessInsecure) {
  auto untrusted = std::make_unique<test::Node>(url("?connect_timeout=2s"));  // self-signed: not in the system's CAs
  EXPECT_FALSE(untrusted->healthy());
  EXPECT_FALSE(test::run_task(io_, untrusted->publish(update("x"))).has_value());
  auto insecure = std::make_unique<test::Node>(url("?tls_insecure=1"));
  EXPECT_TRUE(test::run_task(io_, insecure->publish(update("y"))).has_value());
}

}  // namespace
}  // namespace herald
