#pragma once
// A Caddyfile read into a tree, the way Caddy reads it: environment placeholders first,
// then tokens, lines and blocks. Herald reads the `mercure {}` part of such a file (see
// caddy_settings.hpp); this file knows nothing of what the directives mean.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace herald {

/// Reads an environment variable; nullptr when unset.
using CaddyEnv = std::function<const char*(const char*)>;

/// One directive: its name and arguments (the tokens of its line) and, when the line
/// ends with `{`, the directives of its block.
struct CaddyDirective {
  std::string name;
  std::vector<std::string> args;
  std::vector<CaddyDirective> block;
  int line = 0;
};

/// A site block: its addresses ("localhost", ":80", "https://example.com:8443") and directives.
struct CaddySite {
  std::vector<std::string> addresses;
  std::vector<CaddyDirective> directives;
  int line = 0;
};

struct Caddyfile {
  std::vector<CaddyDirective> global;  ///< the leading `{ ... }` block of global options
  std::vector<CaddySite> sites;
};

/// Replaces `{$VAR}` and `{$VAR:default}` in the whole text, before it is split into tokens
/// (so a variable may hold several tokens and lines, as MERCURE_EXTRA_DIRECTIVES does).
/// An unset variable without a default becomes empty. Pure; any thread.
std::string expand_env_placeholders(std::string_view text, const CaddyEnv& env);

/// Parses a whole Caddyfile (placeholders expanded first; `{env.VAR}` inside a token is
/// replaced too). Snippets `(name) {...}` are skipped. Throws ConfigError with one line
/// "invalid Caddyfile <origin>:<line>: <why>" on unbalanced braces or unterminated quotes.
Caddyfile parse_caddyfile(std::string_view text, const std::string& origin, const CaddyEnv& env);

/// Parses directive lines only (the body of a block, e.g. MERCURE_EXTRA_DIRECTIVES).
/// Same errors as parse_caddyfile.
std::vector<CaddyDirective> parse_caddy_directives(std::string_view text, const std::string& origin,
                                                   const CaddyEnv& env);

}  // namespace herald
