// LMDB-specific behaviour: persistence across reopen, retention, single owner, codec.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "support/node.hpp"
#include "support/run_task.hpp"
#include "transport/update_codec.hpp"
#include "transport/transport.hpp"

namespace herald {
namespace {
namespace fs = std::filesystem;

class LmdbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int n = 0;
    dir_ = fs::temp_directory_path() / ("herald-lmdb-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<test::Node> open(const std::string& query = "") {
    return std::make_unique<test::Node>("lmdb://" + dir_.string() + query);
  }
  template <class T>
  T run(Task<T> t) { return test::run_task(io_, std::move(t)); }
  Seq publish(test::Node& t, std::string id, std::string data = "d") {
    auto u = std::make_shared<Update>();
    u->id = std::move(id);
    u->topics = {"https://example.com/t"};
    u->data = std::move(data);
    return run(t.publish(u)).value();
  }

  Seq publish_event(test::Node& t, std::string id) {
    auto u = std::make_shared<Update>();
    u->id = std::move(id);
    u->topics = {"/.well-known/mercure/subscriptions/t/s"};
    u->data = "{}";
    u->is_private = true;
    u->subscription_event = true;
    return run(t.publish(u)).value();
  }

  fs::path dir_;
  boost::asio::io_context io_;
};

TEST_F(LmdbTest, SubscriptionEventsAreBoundedApartFromUpdates) {
  Seq first_event = 0;
  {
    auto t = open("?size=5&events_size=3");
    publish(*t, "a");
    for (int i = 0; i < 20; ++i) {
      Seq s = publish_event(*t, "e" + std::to_string(i));
      if (i == 0) first_event = s;
    }
    publish(*t, "b");
    run(t->close());
  }
  auto t = open("?size=5&events_size=3");  // the bound holds across a reopen
  publish_event(*t, "e20");
  EXPECT_TRUE(run(t->find("a")).has_value()) << "events crowded an update out";
  EXPECT_FALSE(run(t->find("e17")).has_value());
  EXPECT_TRUE(run(t->find("e18")).has_value());
  EXPECT_EQ(run(t->find("earliest")).value(), 0u) << "no update was trimmed";
  // A reader positioned on an event that gave way is not told it missed updates.
  auto page = run(t->read_after(first_event, 100));
  ASSERT_TRUE(page.has_value());
  std::vector<std::string> ids;
  for (const auto& s : page.value()) ids.push_back(s.update->id);
  EXPECT_EQ(ids, (std::vector<std::string>{"e18", "e19", "b", "e20"}));
}

TEST_F(LmdbTest, HistoryStaysWithinTheByteBudgetAndPublishesNeverFail) {
  auto t = open("?map_size=1048576");  // budget: 512 KiB
  std::string big(20000, 'x');
  for (int i = 0; i < 200; ++i) publish(*t, "u" + std::to_string(i), big);  // 4 MB
  EXPECT_TRUE(run(t->find("u199")).has_value());
  EXPECT_FALSE(run(t->find("u0")).has_value());
  Seq earliest = run(t->find("earliest")).value();
  EXPECT_GT(earliest, 150u);  // at most ~25 records of 20 KB in 512 KiB
  EXPECT_FALSE(run(t->read_after(earliest - 1, 10)).has_value()) << "a trimmed reader must be told";
  EXPECT_TRUE(t->healthy());
}

TEST_F(LmdbTest, UpdatesSurviveReopenWithTheirPositions) {
  Seq b;
  {
    auto t = open();
    publish(*t, "a");
    b = publish(*t, "b");
    publish(*t, "c");
    run(t->close());
  }
  auto t = open();
  EXPECT_EQ(run(t->find("b")).value(), b);
  EXPECT_EQ(run(t->last_event_id()).value(), "c");
  auto after = run(t->read_after(b, 10)).value();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].update->id, "c");
  Seq d = publish(*t, "d");
  EXPECT_EQ(d, b + 2);  // the sequence continues
}

TEST_F(LmdbTest, SecondOwnerIsRefused) {
  auto t = open();
  try {
    open();
    FAIL() << "a second transport opened the same store";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
  }
}

TEST_F(LmdbTest, SizeRetentionKeepsTheNewestAndUnindexesTheRest) {
  auto t = open("?size=10");
  for (int i = 0; i < 25; ++i) publish(*t, "u" + std::to_string(i));
  EXPECT_FALSE(run(t->find("u14")).has_value());
  EXPECT_TRUE(run(t->find("u15")).has_value());
  auto all = run(t->read_after(run(t->find("earliest")).value(), 100)).value();
  ASSERT_EQ(all.size(), 10u);
  EXPECT_EQ(all.front().update->id, "u15");
  auto gap = run(t->read_after(3, 100));
  ASSERT_FALSE(gap.has_value());
  EXPECT_EQ(gap.error(), make_error_code(Errc::not_found));
}

TEST_F(LmdbTest, MaxAgeDropsOldUpdates) {
  auto t = open("?max_age=1ms");
  publish(*t, "old");
  ::usleep(5000);  // ages the stored update past max_age (wall-clock retention is what is tested)
  publish(*t, "new");
  EXPECT_FALSE(run(t->find("old")).has_value());
  EXPECT_TRUE(run(t->find("new")).has_value());
}

TEST_F(LmdbTest, DuplicateCustomIdResolvesToTheNewest) {
  auto t = open();
  publish(*t, "dup");
  Seq second = publish(*t, "dup");
  EXPECT_EQ(run(t->find("dup")).value(), second);
}

TEST_F(LmdbTest, VeryLongIdsAreIndexed) {
  auto t = open();
  std::string id(5000, 'x');
  Seq s = publish(*t, id);
  EXPECT_EQ(run(t->find(id)).value(), s);
  EXPECT_FALSE(run(t->find(std::string(5000, 'y'))).has_value());
}

TEST_F(LmdbTest, FullMapFailsThePublishWithoutCrashing) {
  auto t = open("?map_size=1048576");
  auto u = std::make_shared<Update>();
  u->id = "big";
  u->topics = {"t"};
  u->data = std::string(2 << 20, 'z');
  auto r = run(t->publish(u));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), make_error_code(Errc::transport_failure));
  EXPECT_GT(publish(*t, "small"), 0u);  // still usable
}

TEST_F(LmdbTest, BadUrlsAreConfigErrors) {
  EXPECT_THROW(open("?size=x"), std::exception);
  EXPECT_THROW(open("?max_age=soon"), std::exception);
  EXPECT_THROW(open("?sync=maybe"), std::exception);
  EXPECT_THROW(open("?unknown=1"), std::exception);
  fs::create_directories(dir_.parent_path());
  std::string file = dir_.string() + "-file";
  { std::ofstream(file) << "not a directory"; }
  EXPECT_THROW(make_transport("lmdb://" + file), std::exception);
  fs::remove(file);
}

TEST(UpdateCodec, RoundTripsEveryField) {
  Update u;
  u.id = "id";
  u.topics = {"a", "b"};
  u.data = std::string("bin\0ary\n", 8);
  u.type = "t";
  u.retry = 42;
  u.is_private = true;
  auto d = decode_stored_update(encode_stored_update(u, 123));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->stored_at_ms, 123);
  EXPECT_EQ(d->update->topics, u.topics);
  EXPECT_EQ(d->update->data, u.data);
  EXPECT_EQ(d->update->retry, 42u);
  EXPECT_TRUE(d->update->is_private);
  auto bytes = encode_stored_update(u, 1);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) EXPECT_FALSE(decode_stored_update(bytes.substr(0, cut)));
}
}  // namespace
}  // namespace herald
