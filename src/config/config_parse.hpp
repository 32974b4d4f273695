#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace CLI { class App; }

namespace herald {

/// Values given on the command line, by option name (underscore form), as typed.
using FlagValues = std::map<std::string, std::string>;

/// Describes one option: its name (underscore form, as in mercure.yaml), help text and default.
struct OptionInfo {
  std::string name;
  std::string help;
  std::string default_text;
  bool is_bool = false;
};

/// Every option `herald run` understands, in the order --help lists them.
const std::vector<OptionInfo>& config_options();

/// Registers one CLI flag per option (--publisher-jwt-key ...) on `app`, storing into `out`.
void add_config_flags(CLI::App& app, FlagValues& out);

/// Reads an environment variable; returns nullptr when unset. Injected for tests.
using EnvLookup = std::function<const char*(const char*)>;

/// Builds the Config: flags, then MERCURE_<NAME> environment variables, then the file
/// (`config_path`, or ./mercure.yaml, or ./Caddyfile when empty and present), then defaults;
/// then validates. The file is a Caddyfile when `adapter` is "caddyfile" or its name says
/// Caddyfile, else YAML. Without a Caddyfile, the Docker image's environment (SERVER_NAME,
/// MERCURE_EXTRA_DIRECTIVES, ...) is read between the MERCURE_<NAME> variables and the file.
/// What is accepted but ignored lands in Config::notices. Throws ConfigError with one line
/// naming the option (or the Caddyfile line) on any error.
Config load_config(const FlagValues& flags, const EnvLookup& env, const std::string& config_path,
                   const std::string& adapter = "");

}  // namespace herald
