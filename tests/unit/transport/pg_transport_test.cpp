// The PostgreSQL transport beyond the conformance kit: its URL, refused logins, an
// unreachable server, and one order under concurrent publishers on several nodes.
#include <gtest/gtest.h>

#include <future>
#include <set>

#include <boost/url/parse.hpp>

#include "core/config_error.hpp"
#include "support/pg_server.hpp"
#include "support/redis_server.hpp"
#include "support/run_task.hpp"
#include "transport/postgres/pg_options.hpp"
#include "transport/transport.hpp"

namespace herald {
namespace {

test::PgServer& server() {
  static test::PgServer s;
  return s;
}

PgOptions parse(const std::string& text) { return parse_pg_url(*boost::urls::parse_uri(text)); }

std::string error_of(const std::string& url) {
  try {
    make_transport(url);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string value(const std::vector<std::pair<std::string, std::string>>& pairs, const std::string& key) {
  for (const auto& [k, v] : pairs)
    if (k == key) return v;
  return "<absent>";
}

TEST(PgUrl, ConnectionPartsAndLibpqParametersPassThroughHeraldsAreTakenOut) {
  auto o = parse("postgresql://app:s%40cret@db.example:6543/mercure-ha?sslmode=require&application_name=herald"
                 "&size=500&max_age=1h&presence_ttl=20s&table=hub");
  EXPECT_EQ(value(o.conninfo, "host"), "db.example");
  EXPECT_EQ(value(o.conninfo, "port"), "6543");
  EXPECT_EQ(value(o.conninfo, "user"), "app");
  EXPECT_EQ(value(o.conninfo, "password"), "s@cret");
  EXPECT_EQ(value(o.conninfo, "dbname"), "mercure-ha");
  EXPECT_EQ(value(o.conninfo, "sslmode"), "require");
  EXPECT_EQ(value(o.conninfo, "application_name"), "herald");
  EXPECT_EQ(value(o.conninfo, "size"), "<absent>") << "Herald's parameters reached libpq";
  EXPECT_EQ(o.size, 500u);
  EXPECT_EQ(o.max_age, std::chrono::hours(1));
  EXPECT_EQ(o.presence_ttl, std::chrono::seconds(20));
  EXPECT_EQ(o.table, "hub");
  EXPECT_EQ(o.host_for_logs.find("s@cret"), std::string::npos);
  EXPECT_EQ(value(o.listen_conninfo, "host"), "db.example") << "without listen_url, LISTEN uses the main URL";
}

TEST(PgUrl, ListenUrlGivesTheListenConnectionItsOwnServer) {
  auto o = parse("postgres://u:p@pgbouncer:6432/db?listen_url=" +
                 std::string("postgres%3A%2F%2Fu%3Ap%40primary%3A5432%2Fdb%3Fsslmode%3Ddisable"));
  EXPECT_EQ(value(o.conninfo, "host"), "pgbouncer");
  EXPECT_EQ(value(o.listen_conninfo, "host"), "primary");
  EXPECT_EQ(value(o.listen_conninfo, "port"), "5432");
  EXPECT_EQ(value(o.listen_conninfo, "sslmode"), "disable");
  EXPECT_EQ(value(o.conninfo, "listen_url"), "<absent>");
}

TEST(PgUrl, BadUrlsAreOneLineErrorsThatNeverShowThePassword) {
  for (const char* url : {"postgres:///db", "postgres://h:0/db", "postgres://h:99999/db", "postgres://h/db?size=x",
                          "postgres://h/db?no_such_param=1", "postgres://h/db?table=Bad-Name",
                          "postgres://h/db?presence_ttl=0s", "postgres://h/a/b", "postgres://h/db?host=x",
                          "postgres://u:hunter2@h/db?max_age=forever", "postgres://h/db?listen_url=redis%3A%2F%2Fx"}) {
    std::string e;
    try {
      parse(url);
    } catch (const ConfigError& err) {
      e = err.what();
    }
    EXPECT_NE(e, "") << url << " was accepted";
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  }
}

TEST(PgStart, AWrongPasswordOrAMissingDatabaseIsAConfigErrorNamingIt) {
  std::string base = "postgres://postgres:wrong@127.0.0.1:" + std::to_string(server().port());
  auto wrong = error_of(base + "/herald");
  EXPECT_NE(wrong.find("password authentication failed"), std::string::npos) << wrong;
  EXPECT_EQ(wrong.find("wrong"), std::string::npos) << "the password reached the message: " << wrong;
  auto missing = error_of("postgres://postgres:secret@127.0.0.1:" + std::to_string(server().port()) + "/nodb");
  EXPECT_NE(missing.find("\"nodb\" does not exist"), std::string::npos) << missing;
  EXPECT_EQ(missing.find('\n'), std::string::npos) << missing;
}

TEST(PgStart, AnUnreachableServerStartsUnhealthyAndIsUsedOnceItAnswers) {
  int port = test::RedisServer::free_port();
  auto t = make_transport("postgres://postgres:secret@127.0.0.1:" + std::to_string(port) +
                          "/herald?connect_timeout=1s&table=unreachable");
  EXPECT_FALSE(t.log->healthy());
  boost::asio::io_context io;
  auto r = test::run_task(io, t.log->head());
  EXPECT_EQ(r.error(), make_error_code(Errc::transport_failure)) << "an unreachable server answered";
  test::run_task(io, t.log->close());
}

/// Publishers on three nodes at once: every node delivers the same records in the same
/// order, with dense seqs (commit order is seq order). With a bare bigserial a late commit
/// would be skipped by a reader that already read past it, and this fails.
TEST(PgOrder, ConcurrentPublishersOnThreeNodesGiveOneDenseOrderEverywhere) {
  struct Collect final : LogListener {
    std::mutex m;
    std::vector<Seq> seqs;
    std::vector<std::string> ids;
    int gaps = 0;
    void on_update(Stored s) noexcept override {
      std::lock_guard l(m);
      seqs.push_back(s.seq);
      ids.push_back(s.update->id);
    }
    void on_error(boost::system::error_code) noexcept override {}
    void on_gap() noexcept override {
      std::lock_guard l(m);
      ++gaps;
    }
    std::size_t size() {
      std::lock_guard l(m);
      return ids.size();
    }
  };
  std::string url = server().url("?table=order3");
  constexpr int kNodes = 3, kPerPublisher = 400, kPublishersPerNode = 4;
  std::vector<Transport> nodes;
  std::vector<std::unique_ptr<Collect>> got;
  std::vector<std::unique_ptr<FlowGate>> gates;
  boost::asio::io_context io;
  for (int i = 0; i < kNodes; ++i) {
    nodes.push_back(make_transport(url));
    got.push_back(std::make_unique<Collect>());
    gates.push_back(std::make_unique<FlowGate>(1u << 30, 1u << 29));
    ASSERT_TRUE(test::run_task(io, nodes.back().log->listen(*got.back(), *gates.back())).has_value());
  }
  std::vector<std::future<std::set<Seq>>> publishers;
  for (int n = 0; n < kNodes; ++n)
    for (int p = 0; p < kPublishersPerNode; ++p)
      publishers.push_back(std::async(std::launch::async, [&, n, p] {
        boost::asio::io_context pio;
        std::set<Seq> acked;
        for (int k = 0; k < kPerPublisher; ++k) {
          auto u = std::make_shared<Update>();
          u->id = "n" + std::to_string(n) + "p" + std::to_string(p) + "k" + std::to_string(k);
          u->topics = {"t"};
          u->data = "d";
          auto r = test::run_task(pio, nodes[n].log->publish(u));
          if (r) acked.insert(*r);
        }
        return acked;
      }));
  std::set<Seq> acked;
  for (auto& f : publishers)
    for (Seq s : f.get()) EXPECT_TRUE(acked.insert(s).second) << "seq " << s << " acknowledged twice";
  constexpr std::size_t kTotal = kNodes * kPublishersPerNode * kPerPublisher;
  ASSERT_EQ(acked.size(), kTotal);
  for (int i = 0; i < kNodes; ++i) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (got[i]->size() < kTotal && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a counter (bounded)
    std::lock_guard l(got[i]->m);
    ASSERT_EQ(got[i]->ids.size(), kTotal) << "node " << i;
    EXPECT_EQ(got[i]->gaps, 0);
    for (std::size_t k = 0; k < kTotal; ++k) ASSERT_EQ(got[i]->seqs[k], Seq(k + 1)) << "node " << i << " not dense";
    EXPECT_EQ(got[i]->ids, got[0]->ids) << "node " << i << " saw another order";
  }
  EXPECT_EQ(*acked.begin(), 1u);
  EXPECT_EQ(*acked.rbegin(), Seq(kTotal));
  for (auto& n : nodes) test::run_task(io, n.log->close());
}

}  // namespace
}  // namespace herald
