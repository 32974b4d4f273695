#pragma once
// An environment for configuration tests: variables in a map, looked up as getenv would.
#include <map>
#include <string>

#include "config/config_parse.hpp"

namespace herald::test {

struct FakeEnv {
  std::map<std::string, std::string> vars;
  /// The lookup load_config takes; valid while this FakeEnv lives.
  EnvLookup lookup() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

}  // namespace herald::test
