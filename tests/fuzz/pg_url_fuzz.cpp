// Fuzzes the PostgreSQL transport's text handling: a transport URL either parses or is one
// ConfigError line (never the password); storable() never accepts a NUL; an
// array literal of any text keeps every quote and backslash escaped.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "core/config_error.hpp"
#include "transport/postgres/pg_options.hpp"
#include "transport/postgres/pg_text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace herald;
  std::string in(reinterpret_cast<const char*>(data), size);
  if (auto url = boost::urls::parse_uri(in)) {
    try {
      auto o = parse_pg_url(*url);
      if (o.table.empty()) std::abort();
    } catch (const ConfigError& e) {
      if (std::string(e.what()).find('\n') != std::string::npos) std::abort();
    }
    // The password never reaches the message: the same URL with a password no other part of it
    // holds must not quote that password (comparing with the input's own password gives false
    // alarms, since a short password can be any word of the message).
    const std::string marker = "Pw7qX2zK9mRt";
    if (in.find(marker) == std::string::npos) {
      boost::urls::url marked(*url);
      marked.set_password(marker);
      try {
        (void)parse_pg_url(marked);
      } catch (const ConfigError& e) {
        if (std::string(e.what()).find(marker) != std::string::npos) std::abort();
      }
    }
  }
  bool ok = pg_text::storable(in);
  if (ok && in.find('\0') != std::string::npos) std::abort();
  pg_text::ArrayLiteral a;
  a.add(std::string_view(in));
  std::string lit = a.str();
  // Unescaping the one element gives the input back.
  std::string back;
  for (std::size_t i = 2; i + 2 < lit.size(); ++i) {
    if (lit[i] == '\\') ++i;
    back += lit[i];
  }
  if (lit.size() < 4 || back != in) std::abort();
  return 0;
}
