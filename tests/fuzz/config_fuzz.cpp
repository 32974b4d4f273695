// Fuzzes the configuration loader: "NAME=value" environment lines up to a blank line, then
// a document read once as YAML and once as a Caddyfile. The Mercure image's variables
// (SERVER_NAME, GLOBAL_OPTIONS, CADDY_*) keep their names; others get MERCURE_. Any input either loads or throws ConfigError with one line; nothing
// else may escape (that would be a crash with a stack trace instead of exit code 2).
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>

#include "config/config_parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace herald;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::string> env;
  while (!in.empty()) {
    auto nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
    if (line.empty()) break;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name(line.substr(0, eq));
    if (name.rfind("MERCURE_", 0) != 0 && name != "SERVER_NAME" && name != "GLOBAL_OPTIONS" &&
        name.rfind("CADDY_", 0) != 0)
      name = "MERCURE_" + name;
    env[name] = std::string(line.substr(eq + 1));
  }
  static const std::string path = "/tmp/herald-config-fuzz-" + std::to_string(::getpid()) + ".yaml";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(in.data(), static_cast<std::streamsize>(in.size()));
  }
  auto lookup = [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  for (const char* adapter : {"yaml", "caddyfile"}) {
    try {
      (void)load_config({}, lookup, path, adapter);
    } catch (const ConfigError& e) {
      if (std::string_view(e.what()).find('\n') != std::string_view::npos) std::abort();  // one line
    }
  }
  return 0;
}
