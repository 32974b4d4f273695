// Caddyfiles of the shapes the Mercure image ships (written here, not copied), its
// environment without a Caddyfile, and the errors a bad one gets.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "config/caddy_settings.hpp"
#include "config/caddyfile.hpp"
#include "config/config_parse.hpp"
#include "support/fake_env.hpp"

namespace herald {
namespace {
using namespace std::chrono_literals;

using Env = test::FakeEnv;

std::string write_file(const std::string& name, const std::string& text) {
  static int n = 0;
  auto dir = std::filesystem::temp_directory_path() /
             ("herald-caddy-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::filesystem::create_directories(dir);
  auto path = dir / name;
  std::ofstream(path) << text;
  return path.string();
}

// The production shape: global options and extra config from the environment, a site
// address from SERVER_NAME, access-log redaction, compression, the mercure block reading
// the keys with {env.*} and the extra directives with {$...}, a health route, 404 otherwise.
const char* kProduction = R"(# a production hub
{
	{$GLOBAL_OPTIONS}
}

{$CADDY_EXTRA_CONFIG}

{$SERVER_NAME:localhost} {
	log {
		format filter {
			fields {
				request>uri query {
					replace authorization REDACTED
				}
			}
		}
	}

	encode zstd gzip

	mercure {
		# keys
		publisher_jwt {env.MERCURE_PUBLISHER_JWT_KEY} {env.MERCURE_PUBLISHER_JWT_ALG}
		subscriber_jwt {env.MERCURE_SUBSCRIBER_JWT_KEY} {env.MERCURE_SUBSCRIBER_JWT_ALG}
		{$MERCURE_EXTRA_DIRECTIVES}
	}

	{$CADDY_SERVER_EXTRA_DIRECTIVES}

	respond /healthz 200
	respond "Not Found" 404
}
)";

// The development shape: a route block with a redirect to the UI, permissive settings.
const char* kDevelopment = R"({
	{$GLOBAL_OPTIONS}
}

{$SERVER_NAME:localhost} {
	route {
		redir / /.well-known/mercure/ui/
		encode zstd gzip

		mercure {
			publisher_jwt {env.MERCURE_PUBLISHER_JWT_KEY} {env.MERCURE_PUBLISHER_JWT_ALG}
			subscriber_jwt {env.MERCURE_SUBSCRIBER_JWT_KEY} {env.MERCURE_SUBSCRIBER_JWT_ALG}
			cors_origins *
			publish_origins *
			demo
			anonymous
			subscriptions
			{$MERCURE_EXTRA_DIRECTIVES}
		}

		respond /healthz 200
		respond "Not Found" 404
	}
}
)";

Env recipe_env() {
  // The Symfony recipe's docker-compose shape.
  return Env{{{"SERVER_NAME", ":80"},
              {"MERCURE_PUBLISHER_JWT_KEY", "!ChangeThisMercureHubJWTSecretKey!"},
              {"MERCURE_SUBSCRIBER_JWT_KEY", "!ChangeThisMercureHubJWTSecretKey!"},
              {"MERCURE_EXTRA_DIRECTIVES", "cors_origins http://127.0.0.1:8000\nanonymous\n"}}};
}

bool has_notice(const Config& c, const std::string& part) {
  for (const auto& n : c.notices)
    if (n.find(part) != std::string::npos) return true;
  return false;
}

TEST(Caddyfile, EnvPlaceholdersAreExpandedBeforeTokens) {
  Env env{{{"A", "one two"}, {"LINES", "x 1\ny 2"}}};
  EXPECT_EQ(expand_env_placeholders("{$A} {$B:fallback} {$C}|", env.lookup()), "one two fallback |");
  auto d = parse_caddy_directives("{$LINES}\nz {env.A}", "test", env.lookup());
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].name, "x");
  EXPECT_EQ(d[1].args, std::vector<std::string>{"2"});
  EXPECT_EQ(d[2].args, std::vector<std::string>{"one two"});  // {env.*} stays one token
}

TEST(Caddyfile, QuotesCommentsAndBlocks) {
  Env env;
  auto f = parse_caddyfile("a.example, :8443 {\n  respond \"Not # Found\" 404 # a comment\n  mercure {\n    anonymous\n  }\n}\n",
                           "t", env.lookup());
  ASSERT_EQ(f.sites.size(), 1u);
  EXPECT_EQ(f.sites[0].addresses, (std::vector<std::string>{"a.example", ":8443"}));
  ASSERT_EQ(f.sites[0].directives.size(), 2u);
  EXPECT_EQ(f.sites[0].directives[0].args, (std::vector<std::string>{"Not # Found", "404"}));
  EXPECT_EQ(f.sites[0].directives[1].block[0].name, "anonymous");
}

TEST(Caddyfile, ProductionShapeWithTheRecipeEnvironment) {
  Env env = recipe_env();
  auto path = write_file("Caddyfile", kProduction);
  Config c = load_config({}, env.lookup(), path);
  EXPECT_EQ(c.addr, ":80");
  EXPECT_EQ(c.publisher.key, "!ChangeThisMercureHubJWTSecretKey!");
  EXPECT_EQ(c.publisher.algorithm, "HS256");  // {env.MERCURE_PUBLISHER_JWT_ALG} unset
  EXPECT_EQ(c.subscriber.key, "!ChangeThisMercureHubJWTSecretKey!");
  EXPECT_TRUE(c.allow_anonymous);
  EXPECT_EQ(c.cors_allowed_origins, std::vector<std::string>{"http://127.0.0.1:8000"});
  EXPECT_FALSE(c.subscriptions);
  EXPECT_TRUE(has_notice(c, "encode, log, respond"));
}

TEST(Caddyfile, DevelopmentShapeInsideRoute) {
  Env env{{{"SERVER_NAME", ":8081"}, {"MERCURE_PUBLISHER_JWT_KEY", "k1"}, {"MERCURE_PUBLISHER_JWT_ALG", "HS512"},
           {"GLOBAL_OPTIONS", "debug"}}};
  auto path = write_file("dev.Caddyfile", kDevelopment);
  Config c = load_config({}, env.lookup(), path);
  EXPECT_EQ(c.addr, ":8081");
  EXPECT_EQ(c.publisher.algorithm, "HS512");
  EXPECT_TRUE(c.allow_anonymous);
  EXPECT_TRUE(c.subscriptions);
  EXPECT_EQ(c.cors_allowed_origins, std::vector<std::string>{"*"});
  EXPECT_EQ(c.publish_allowed_origins, std::vector<std::string>{"*"});
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_TRUE(c.ui);  // demo includes the debug UI
  EXPECT_TRUE(has_notice(c, "redir"));
}

TEST(Caddyfile, SingleSiteWithoutBracesTransportBlockAndAdapter) {
  Env env;
  auto path = write_file("hub.conf",
                         "localhost:9090\n\nmercure {\n  publisher_jwt secret\n  transport bolt {\n    path /var/lib/m.db\n"
                         "    size 1000\n  }\n  heartbeat 15s\n  write_timeout 0s\n}\n");
  Config c = load_config({}, env.lookup(), path, "caddyfile");
  EXPECT_EQ(c.addr, ":9090");
  EXPECT_EQ(c.transport_url, "bolt:///var/lib/m.db?size=1000");
  EXPECT_EQ(c.heartbeat_interval, 15s);
  EXPECT_EQ(c.write_timeout, Duration::zero());
  EXPECT_TRUE(has_notice(c, "plain HTTP on port 9090"));
}

TEST(Caddyfile, FlagsAndMercureVariablesWinOverTheCaddyfile) {
  Env env = recipe_env();
  env.vars["MERCURE_ALLOW_ANONYMOUS"] = "false";
  auto path = write_file("Caddyfile", kProduction);
  Config c = load_config({{"addr", "127.0.0.1:0"}}, env.lookup(), path);
  EXPECT_EQ(c.addr, "127.0.0.1:0");
  EXPECT_FALSE(c.allow_anonymous);
}

std::string caddy_error(const std::string& text, const Env& env = {}) {
  try {
    load_config({}, env.lookup(), write_file("Caddyfile", text));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Caddyfile, ErrorsNameTheFileAndLine) {
  EXPECT_NE(caddy_error(":80 {\n mercure {\n  publisher_jwt k\n  frobnicate on\n }\n}\n").find("Caddyfile:4: unknown mercure directive frobnicate"),
            std::string::npos);
  EXPECT_NE(caddy_error(":80 {\n mercure {\n  publisher_jwt k\n").find("is never closed"), std::string::npos);
  EXPECT_NE(caddy_error(":80 {\n respond \"oops\n}\n").find("unterminated quoted string"), std::string::npos);
  EXPECT_NE(caddy_error(":80 {\n respond 404\n}\n").find("no site has a mercure directive"), std::string::npos);
  EXPECT_NE(caddy_error(":80 {\n mercure {\n  publisher_jwt k\n  heartbeat\n }\n}\n").find("heartbeat expects one value"),
            std::string::npos);
  EXPECT_NE(caddy_error(":80 {\n mercure {\n  publisher_jwt k\n  heartbeat soon\n }\n}\n").find("heartbeat_interval"),
            std::string::npos);
  EXPECT_NE(caddy_error(":80 {\n mercure {\n  publisher_jwt k\n  transport redis {\n   url redis://x\n  }\n }\n}\n")
                .find("transport_url"),
            std::string::npos);
  // Certificates that cannot be read are an error naming the option (never silently plain HTTP).
  EXPECT_NE(caddy_error("example.com {\n tls /nonexistent/c.pem /k.pem\n mercure {\n  publisher_jwt k\n }\n}\n")
                .find("invalid cert_file: cannot read /nonexistent/c.pem"),
            std::string::npos);
}

TEST(Caddyfile, TlsGivesCertificatesAndPort443) {
  auto cert = write_file("c.pem", "certificate"), key = write_file("k.pem", "key");
  Env env;
  Config c = load_config({}, env.lookup(),
                         write_file("Caddyfile", "example.com {\n tls " + cert + " " + key + "\n mercure {\n  publisher_jwt k\n }\n}\n"));
  EXPECT_EQ(c.cert_file, cert);
  EXPECT_EQ(c.key_file, key);
  EXPECT_EQ(c.addr, ":443");
  EXPECT_FALSE(has_notice(c, "plain HTTP"));
}

TEST(ImageEnvironment, RecipeEnvironmentWithoutACaddyfile) {
  Env env = recipe_env();
  env.vars["MERCURE_LICENSE"] = "some-license-key";
  env.vars["CADDY_EXTRA_CONFIG"] = "(cors) {\n header Access-Control-Allow-Origin *\n}";
  Config c = load_config({}, env.lookup(), "");
  EXPECT_EQ(c.addr, ":80");
  EXPECT_TRUE(c.allow_anonymous);
  EXPECT_EQ(c.cors_allowed_origins, std::vector<std::string>{"http://127.0.0.1:8000"});
  EXPECT_TRUE(has_notice(c, "license (from environment MERCURE_LICENSE) ignored"));
  EXPECT_TRUE(has_notice(c, "CADDY_EXTRA_CONFIG ignored"));
  for (const auto& n : c.notices) EXPECT_EQ(n.find("some-license-key"), std::string::npos);
}

TEST(ImageEnvironment, ExtraDirectivesAreCheckedLikeACaddyfile) {
  Env env{{{"MERCURE_PUBLISHER_JWT_KEY", "k"}, {"MERCURE_EXTRA_DIRECTIVES", "anonymous\nsubscribe_everything"}}};
  try {
    load_config({}, env.lookup(), "");
    FAIL() << "accepted an unknown directive";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("MERCURE_EXTRA_DIRECTIVES:2: unknown mercure directive subscribe_everything"),
              std::string::npos)
        << e.what();
  }
}

TEST(ImageEnvironment, YamlWithLicenseStarts) {
  Env env;
  auto path = write_file("mercure.yaml", "publisher_jwt_key: k\nlicense: 'a-license'\n");
  Config c = load_config({}, env.lookup(), path);
  EXPECT_TRUE(has_notice(c, "license (from " + path + ") ignored"));
}

TEST(SiteAddress, AsCaddyReadsIt) {
  std::vector<std::string> notes;
  EXPECT_EQ(listen_addr_for_site({":80"}, false, "t", notes), ":80");
  EXPECT_TRUE(notes.empty());
  EXPECT_EQ(listen_addr_for_site({"http://example.com"}, false, "t", notes), ":80");
  EXPECT_TRUE(notes.empty());
  EXPECT_EQ(listen_addr_for_site({"localhost"}, true, "t", notes), ":443");
  EXPECT_EQ(listen_addr_for_site({"https://example.com:8443/x"}, true, "t", notes), ":8443");
  EXPECT_EQ(listen_addr_for_site({"[::1]:9000"}, false, "t", notes), ":9000");
  EXPECT_TRUE(notes.size() == 1 && notes[0].find("no automatic HTTPS") != std::string::npos);
  EXPECT_EQ(listen_addr_for_site({"localhost"}, false, "t", notes), ":80");
  EXPECT_THROW(listen_addr_for_site({"ftp://x"}, false, "t", notes), ConfigError);
  EXPECT_THROW(listen_addr_for_site({"x:eighty"}, false, "t", notes), ConfigError);
}

}  // namespace
}  // namespace herald
