// Caddyfile lexer and parser: tokens with their line, then directives and blocks.
// Written here because no Debian package reads Caddyfiles; it follows Caddy's documented
// syntax (caddyserver.com/docs/caddyfile/concepts), not its code.
#include "config/caddyfile.hpp"

#include <cstddef>

#include "core/config_error.hpp"

namespace herald {
namespace {

struct Token {
  std::string text;
  int line = 0;
  bool quoted = false;
};

[[noreturn]] void fail(const std::string& origin, int line, const std::string& why) {
  throw ConfigError("invalid Caddyfile " + origin + ":" + std::to_string(line) + ": " + why);
}

bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/// Replaces every `{env.NAME}` inside a token by the variable's value.
std::string expand_env_tokens(std::string text, const CaddyEnv& env) {
  std::size_t from = 0;
  while ((from = text.find("{env.", from)) != std::string::npos) {
    auto end = text.find('}', from);
    if (end == std::string::npos) break;
    std::string name = text.substr(from + 5, end - from - 5);
    const char* value = env(name.c_str());
    std::string v = value ? value : "";
    text.replace(from, end - from + 1, v);
    from += v.size();
  }
  return text;
}

std::vector<Token> tokenize(std::string_view s, const std::string& origin, const CaddyEnv& env) {
  std::vector<Token> out;
  int line = 1;
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (space(c)) {
      if (c == '\n') ++line;
      ++i;
      continue;
    }
    if (c == '#') {  // a comment runs to the end of the line
      while (i < s.size() && s[i] != '\n') ++i;
      continue;
    }
    Token t;
    t.line = line;
    if (c == '"' || c == '`') {
      t.quoted = true;
      char quote = c;
      ++i;
      for (;; ++i) {
        if (i >= s.size()) fail(origin, t.line, "unterminated quoted string");
        if (quote == '"' && s[i] == '\\' && i + 1 < s.size() && s[i + 1] == '"') {
          t.text += '"';
          ++i;
          continue;
        }
        if (s[i] == quote) break;
        if (s[i] == '\n') ++line;
        t.text += s[i];
      }
      ++i;
    } else {
      while (i < s.size() && !space(s[i])) t.text += s[i++];
    }
    t.text = expand_env_tokens(std::move(t.text), env);
    out.push_back(std::move(t));
  }
  return out;
}

bool opens(const Token& t) { return !t.quoted && t.text == "{"; }
bool closes(const Token& t) { return !t.quoted && t.text == "}"; }

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::string& origin) : t_(std::move(tokens)), origin_(origin) {}

  Caddyfile file() {
    Caddyfile out;
    if (more() && opens(peek())) {  // global options
      int line = next().line;
      out.global = block(line);
    }
    while (more()) {
      const Token& first = peek();
      if (!first.quoted && first.text.size() > 2 && first.text.front() == '(' && first.text.back() == ')') {
        next();  // a snippet: skipped (import is not followed)
        if (more() && opens(peek())) {
          int line = next().line;
          block(line);
        }
        continue;
      }
      out.sites.push_back(site());
    }
    return out;
  }

  std::vector<CaddyDirective> directives_until_end() {
    std::vector<CaddyDirective> out;
    while (more()) {
      if (closes(peek())) fail(origin_, peek().line, "unexpected '}'");
      out.push_back(directive());
    }
    return out;
  }

 private:
  bool more() const { return pos_ < t_.size(); }
  const Token& peek() const { return t_[pos_]; }
  const Token& next() { return t_[pos_++]; }

  CaddySite site() {
    CaddySite s;
    s.line = peek().line;
    int line = s.line;
    while (more() && peek().line == line && !opens(peek())) {
      std::string a = next().text;
      std::size_t from = 0;  // "a, b" and "a,b" both list two addresses
      while (from <= a.size()) {
        auto comma = a.find(',', from);
        auto part = a.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
        if (!part.empty()) s.addresses.push_back(part);
        if (comma == std::string::npos) break;
        from = comma + 1;
      }
    }
    if (more() && opens(peek()) && peek().line == line) {
      next();
      s.directives = block(line);
    } else {
      s.directives = directives_until_end();  // a single site without braces
    }
    return s;
  }

  /// Directives up to the `}` that closes a block opened on `line`.
  std::vector<CaddyDirective> block(int line) {
    std::vector<CaddyDirective> out;
    while (true) {
      if (!more()) fail(origin_, line, "'{' is never closed");
      if (closes(peek())) {
        next();
        return out;
      }
      out.push_back(directive());
    }
  }

  CaddyDirective directive() {
    CaddyDirective d;
    const Token& head = next();
    d.name = head.text;
    d.line = head.line;
    while (more() && peek().line == d.line && !closes(peek())) {
      if (opens(peek())) {
        next();
        d.block = block(d.line);
        break;
      }
      d.args.push_back(next().text);
    }
    return d;
  }

  std::vector<Token> t_;
  std::size_t pos_ = 0;
  const std::string& origin_;
};

}  // namespace

std::string expand_env_placeholders(std::string_view text, const CaddyEnv& env) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 2, "{$") == 0) {
      auto end = text.find('}', i);
      auto newline = text.find('\n', i);
      if (end != std::string_view::npos && (newline == std::string_view::npos || end < newline)) {
        std::string_view inner = text.substr(i + 2, end - i - 2);
        auto colon = inner.find(':');
        std::string name(inner.substr(0, colon));
        const char* value = env(name.c_str());
        if (value) out += value;
        else if (colon != std::string_view::npos) out += inner.substr(colon + 1);
        i = end + 1;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

Caddyfile parse_caddyfile(std::string_view text, const std::string& origin, const CaddyEnv& env) {
  Parser p(tokenize(expand_env_placeholders(text, env), origin, env), origin);
  return p.file();
}

std::vector<CaddyDirective> parse_caddy_directives(std::string_view text, const std::string& origin,
                                                   const CaddyEnv& env) {
  Parser p(tokenize(expand_env_placeholders(text, env), origin, env), origin);
  return p.directives_until_end();
}

}  // namespace herald
