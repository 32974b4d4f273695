#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "config/config_parse.hpp"
#include "support/fake_env.hpp"

namespace herald {
namespace {
using namespace std::chrono_literals;

using Env = test::FakeEnv;

std::string write_yaml(const std::string& text) {
  static int n = 0;
  auto path = std::filesystem::temp_directory_path() /
              ("herald-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".yaml");
  std::ofstream(path) << text;
  return path.string();
}

std::string error_of(const FlagValues& flags, const Env& env, const std::string& path) {
  try {
    load_config(flags, env.lookup(), path);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigParse, DefaultsMatchTheReferenceHub) {
  Env env{{{"MERCURE_JWT_KEY", "secret"}}};
  Config c = load_config({}, env.lookup(), "");
  EXPECT_EQ(c.heartbeat_interval, Duration(40s));
  EXPECT_EQ(c.write_timeout, Duration(600s));
  EXPECT_EQ(c.dispatch_timeout, Duration(5s));
  EXPECT_EQ(c.cookie_name, "mercureAuthorization");
  EXPECT_EQ(c.publisher.algorithm, "HS256");
  EXPECT_EQ(c.subscriber.key, "secret");
  EXPECT_FALSE(c.allow_anonymous);
  EXPECT_EQ(c.subscriber_queue_size, 1000u);
  EXPECT_EQ(c.subscriber_queue_bytes, 8u << 20);
}

TEST(ConfigParse, SubscriberQueueBytesIsAPositiveByteCount) {
  Env env{{{"MERCURE_JWT_KEY", "k"}, {"MERCURE_SUBSCRIBER_QUEUE_BYTES", "65536"}}};
  EXPECT_EQ(load_config({}, env.lookup(), "").subscriber_queue_bytes, 65536u);
  EXPECT_EQ(error_of({{"subscriber_queue_bytes", "0"}}, env, ""),
            "invalid subscriber_queue_bytes: must be at least 1");
  EXPECT_NE(error_of({{"subscriber_queue_bytes", "8MB"}}, env, "").find("subscriber_queue_bytes"), std::string::npos);
}

TEST(ConfigParse, FlagBeatsEnvironmentBeatsFileBeatsDefault) {
  auto path = write_yaml("jwt_key: from-file\nheartbeat_interval: 10s\nwrite_timeout: 20s\ncookie_name: fileCookie\n");
  Env env{{{"MERCURE_HEARTBEAT_INTERVAL", "11s"}, {"MERCURE_WRITE_TIMEOUT", "21s"}}};
  FlagValues flags{{"write_timeout", "22s"}};
  Config c = load_config(flags, env.lookup(), path);
  EXPECT_EQ(c.write_timeout, Duration(22s));      // flag
  EXPECT_EQ(c.heartbeat_interval, Duration(11s));  // env
  EXPECT_EQ(c.cookie_name, "fileCookie");          // file
  EXPECT_EQ(c.publisher.key, "from-file");
  EXPECT_EQ(c.dispatch_timeout, Duration(5s));     // default
}

TEST(ConfigParse, SpecificKeysOverrideTheSharedKey) {
  Env env{{{"MERCURE_JWT_KEY", "shared"}, {"MERCURE_SUBSCRIBER_JWT_KEY", "sub"}, {"MERCURE_PUBLISHER_JWT_ALG", "HS512"}}};
  Config c = load_config({}, env.lookup(), "");
  EXPECT_EQ(c.publisher.key, "shared");
  EXPECT_EQ(c.subscriber.key, "sub");
  EXPECT_EQ(c.publisher.algorithm, "HS512");
  EXPECT_EQ(c.subscriber.algorithm, "HS256");
}

TEST(ConfigParse, ListsAreSpaceSeparatedInEnvCommaInFlagsAndYamlSequences) {
  Env env{{{"MERCURE_JWT_KEY", "k"}, {"MERCURE_CORS_ALLOWED_ORIGINS", "https://a.com https://b.com"}}};
  Config c = load_config({{"publish_allowed_origins", "https://X.com,https://y.com"}}, env.lookup(), "");
  EXPECT_EQ(c.cors_allowed_origins, (std::vector<std::string>{"https://a.com", "https://b.com"}));
  EXPECT_EQ(c.publish_allowed_origins, (std::vector<std::string>{"https://x.com", "https://y.com"}));
  auto path = write_yaml("jwt_key: k\ncors_allowed_origins:\n  - https://c.com\n  - https://d.com\n");
  Config y = load_config({}, Env{}.lookup(), path);
  EXPECT_EQ(y.cors_allowed_origins, (std::vector<std::string>{"https://c.com", "https://d.com"}));
}

TEST(ConfigParse, BooleansAndIntegers) {
  Env env{{{"MERCURE_JWT_KEY", "k"}, {"MERCURE_ALLOW_ANONYMOUS", "1"}, {"MERCURE_PROTOCOL_VERSION_COMPATIBILITY", "7"}}};
  Config c = load_config({{"subscriptions", "true"}}, env.lookup(), "");
  EXPECT_TRUE(c.allow_anonymous);
  EXPECT_TRUE(c.subscriptions);
  EXPECT_EQ(c.protocol_version_compatibility, 7);
}

TEST(ConfigParse, ErrorsNameTheOptionOnOneLine) {
  Env env{{{"MERCURE_JWT_KEY", "k"}}};
  auto e = error_of({{"heartbeat_interval", "forever"}}, env, "");
  EXPECT_NE(e.find("heartbeat_interval"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
  e = error_of({}, Env{{{"MERCURE_JWT_KEY", "k"}, {"MERCURE_DISPATCH_TIMEOUT", "-1s"}}}, "");
  EXPECT_NE(e.find("dispatch_timeout"), std::string::npos) << e;
  e = error_of({}, env, write_yaml("jwt_key: k\nno_such_option: 1\n"));
  EXPECT_NE(e.find("no_such_option"), std::string::npos) << e;
  e = error_of({}, Env{}, "");
  EXPECT_NE(e.find("publisher_jwt_key"), std::string::npos) << e;
  e = error_of({{"jwt_algorithm", "none"}}, env, "");
  EXPECT_NE(e.find("algorithm"), std::string::npos) << e;
  e = error_of({{"publisher_jwt_key", "@/nonexistent/key.pem"}}, env, "");
  EXPECT_NE(e.find("publisher_jwt_key"), std::string::npos) << e;
  e = error_of({}, env, write_yaml("jwt_key: [unclosed\n"));
  EXPECT_FALSE(e.empty());
  e = error_of({}, env, "/nonexistent/herald.yaml");
  EXPECT_NE(e.find("/nonexistent/herald.yaml"), std::string::npos) << e;
  e = error_of({{"allow_anonymous", "maybe"}}, env, "");
  EXPECT_NE(e.find("allow_anonymous"), std::string::npos) << e;
  e = error_of({}, Env{{{"MERCURE_JWT_KEY", "k"}, {"MERCURE_CERT_FILE", "/x.pem"}}}, "");
  EXPECT_NE(e.find("cert_file"), std::string::npos) << e;
  e = error_of({{"log_format", "XML"}}, env, "");
  EXPECT_NE(e.find("log_format"), std::string::npos) << e;
  e = error_of({{"addr", "8080"}}, env, "");
  EXPECT_NE(e.find("addr"), std::string::npos) << e;
}

TEST(ConfigParse, KeyMayBeReadFromAFile) {
  auto path = write_yaml("file-secret");
  Config c = load_config({{"jwt_key", "@" + path}}, Env{}.lookup(), "");
  EXPECT_EQ(c.publisher.key, "file-secret");
}

TEST(ConfigParse, EveryOptionHasHelpAndAnUnderscoreName) {
  for (const auto& o : config_options()) {
    EXPECT_FALSE(o.help.empty()) << o.name;
    EXPECT_EQ(o.name.find('-'), std::string::npos) << o.name;
  }
}
}  // namespace
}  // namespace herald

namespace herald {
namespace {
TEST(ConfigParse, SpecificKeyFromALowerSourceStillBeatsTheSharedKey) {
  auto path = write_yaml("publisher_jwt_key: file-pub\n");
  Env env{{{"MERCURE_JWT_KEY", "env-shared"}, {"MERCURE_JWT_ALGORITHM", "HS384"}}};
  Config c = load_config({}, env.lookup(), path);
  EXPECT_EQ(c.publisher.key, "file-pub");
  EXPECT_EQ(c.subscriber.key, "env-shared");
  EXPECT_EQ(c.publisher.algorithm, "HS384");
}
}  // namespace
}  // namespace herald
