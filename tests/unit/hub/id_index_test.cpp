#include "hub/id_index.hpp"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

namespace herald {
namespace {

class IdIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("herald-idx-" + std::to_string(::getpid()) + "-" +
                                                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(IdIndexTest, TheNewestSeqOfAnIdWinsWhateverTheOrderOfRecording) {
  IdIndex index(dir_.string());
  EXPECT_TRUE(index.record("a", 5, true));
  EXPECT_TRUE(index.record("a", 3, false));  // an older record (catch-up) does not replace it
  EXPECT_EQ(index.find("a"), 5u);
  EXPECT_TRUE(index.record("a", 9, true));
  EXPECT_EQ(index.find("a"), 9u);
  EXPECT_FALSE(index.find("b").has_value());
  EXPECT_TRUE(index.record(std::string(5000, 'z'), 10, true));  // longer than LMDB's key limit
  EXPECT_EQ(index.find(std::string(5000, 'z')), 10u);
  EXPECT_FALSE(index.find(std::string(5000, 'y')).has_value());
  EXPECT_EQ(index.indexed_through(), 10u);
}

TEST_F(IdIndexTest, ForgetThroughDropsOnlyWhatRetentionRemoved) {
  IdIndex index(dir_.string());
  index.record("old", 1, true);
  index.record("moved", 2, true);
  index.record("moved", 6, true);  // the id was published again later
  index.record("kept", 7, true);
  index.forget_through(5);
  EXPECT_FALSE(index.find("old").has_value());
  EXPECT_EQ(index.find("moved"), 6u);
  EXPECT_EQ(index.find("kept"), 7u);
}

TEST_F(IdIndexTest, IsDurableAcrossAReopen) {
  {
    IdIndex index(dir_.string());
    index.record("a", 4, false);
    index.advance_to(8);
  }
  IdIndex again(dir_.string());
  EXPECT_EQ(again.indexed_through(), 8u);
  EXPECT_EQ(again.find("a"), 4u);
}

TEST(IdIndex, AnUnusablePathIsAConfigError) {
  EXPECT_THROW(IdIndex("/proc/herald-no-such-dir/index"), std::exception);
}

}  // namespace
}  // namespace herald
