#pragma once
// Authentication of publishers and subscribers: which token a request carries, whether it
// verifies with the configured keys (algorithm pinned per key), and the cookie CSRF rule.
#include <memory>
#include <optional>
#include <string>

#include "auth/claims.hpp"
#include "auth/jwks.hpp"
#include "auth/token_source.hpp"
#include "config/config.hpp"

namespace herald {

enum class Role { publisher, subscriber };

/// The outcome of authenticating a request: claims when a valid token was presented,
/// nullopt when there was none; an error (Errc::unauthorized) when a token was invalid.
using AuthResult = Result<std::optional<MercureClaims>>;

/// Thread-safe. Keys from a JWK Set can be replaced while requests are served.
class Authenticator {
 public:
  /// Loads the configured keys; throws ConfigError when a key does not suit its algorithm.
  /// JWK Set URLs are loaded by the caller (see load_jwks) before serving.
  explicit Authenticator(const Config& config);

  bool enabled(Role role) const;
  KeySet& keys(Role role) { return role == Role::publisher ? publisher_ : subscriber_; }
  const std::string& jwks_url(Role role) const;

  /// `method_is_post`, `origin` and `referer` implement the cookie CSRF rule
  /// (a cookie-authenticated POST must come from an allowed origin).
  AuthResult authenticate(Role role, const TokenSources& sources, bool method_is_post, std::string_view origin,
                          std::string_view referer, std::string* why) const;

 private:
  const Config& config_;
  KeySet publisher_;
  KeySet subscriber_;
  bool publisher_enabled_ = false;
  bool subscriber_enabled_ = false;
};

/// Parses a JWK Set document into `keys`. Throws ConfigError (naming `option`) on failure.
void load_jwks_document(KeySet& keys, const std::string& document, const std::string& algorithm,
                        const std::string& option);

}  // namespace herald
