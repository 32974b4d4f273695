#include "auth/authenticator.hpp"

#include <chrono>
#include <unordered_map>

namespace herald {
namespace {
/// Verified tokens, per thread (each shard has its own: no lock). Publishers and
/// subscribers usually present the same token again and again; a hit skips the signature
/// and the JSON parsing. An entry is only trusted with the key set it was verified with,
/// and exp/nbf are checked again on every use. Failures are never cached.
struct CachedClaims {
  MercureClaims claims;
  std::uint64_t generation = 0;  ///< of the key set that verified it
};
constexpr std::size_t kTokenCacheSize = 4096;

std::unordered_map<std::string, CachedClaims>& token_cache(Role role) {
  thread_local std::unordered_map<std::string, CachedClaims> caches[2];
  return caches[role == Role::publisher ? 0 : 1];
}

JwtKey load_key(const JwtKeyConfig& k, const char* option) {
  auto alg = parse_jwt_alg(k.algorithm);
  if (!alg) throw ConfigError(std::string("invalid ") + option + "_algorithm: unknown algorithm");
  std::string why;
  auto key = JwtKey::from_config(k.key, *alg, &why);
  if (!key) throw ConfigError(std::string("invalid ") + option + "_key: " + why);
  return std::move(*key);
}
}  // namespace

Authenticator::Authenticator(const Config& config) : config_(config) {
  if (config.publisher.jwks_url.empty() && !config.publisher.key.empty())
    publisher_.replace({load_key(config.publisher, "publisher_jwt")});
  if (config.subscriber.jwks_url.empty() && !config.subscriber.key.empty())
    subscriber_.replace({load_key(config.subscriber, "subscriber_jwt")});
  publisher_enabled_ = !config.publisher.key.empty() || !config.publisher.jwks_url.empty();
  subscriber_enabled_ = !config.subscriber.key.empty() || !config.subscriber.jwks_url.empty();
}

bool Authenticator::enabled(Role role) const {
  return role == Role::publisher ? publisher_enabled_ : subscriber_enabled_;
}

const std::string& Authenticator::jwks_url(Role role) const {
  return role == Role::publisher ? config_.publisher.jwks_url : config_.subscriber.jwks_url;
}

AuthResult Authenticator::authenticate(Role role, const TokenSources& sources, bool method_is_post,
                                       std::string_view origin, std::string_view referer, std::string* why) const {
  bool query_allowed = config_.protocol_version_compatibility != 7;
  auto found = find_token(sources, config_.cookie_name, query_allowed);
  if (!found) {
    if (why) *why = "malformed Authorization header or authorization parameter";
    return found.error();
  }
  if (found->origin == TokenOrigin::none) return std::optional<MercureClaims>{};
  if (found->origin == TokenOrigin::cookie && method_is_post) {
    std::string from = origin.empty() ? referer_origin(referer) : std::string(origin);
    if (from.empty() || !origin_allowed(config_.publish_allowed_origins, from)) {
      if (why) *why = "cookie-authenticated POST from an origin not in publish_allowed_origins";
      return Errc::unauthorized;
    }
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const KeySet& keys = role == Role::publisher ? publisher_ : subscriber_;
  auto& cache = token_cache(role);
  std::uint64_t generation = keys.generation();
  if (auto it = cache.find(found->token); it != cache.end() && it->second.generation == generation) {
    const CachedClaims& c = it->second;
    if ((!c.claims.exp || now < *c.claims.exp) && (!c.claims.nbf || now >= *c.claims.nbf))
      return std::optional<MercureClaims>{c.claims};
    cache.erase(it);  // expired since: verify again (and fail with the reason)
  }
  auto claims = verify_token(found->token, keys, now, why);
  if (!claims) return claims.error();
  if (cache.size() >= kTokenCacheSize) cache.clear();
  cache[found->token] = CachedClaims{*claims, generation};
  return std::optional<MercureClaims>{std::move(*claims)};
}

void load_jwks_document(KeySet& keys, const std::string& document, const std::string& algorithm,
                        const std::string& option) {
  auto alg = parse_jwt_alg(algorithm).value_or(JwtAlg::RS256);
  std::string why;
  auto parsed = parse_jwks(document, alg, &why);
  if (!parsed) throw ConfigError("invalid " + option + ": " + why);
  keys.replace(std::move(*parsed));
}

}  // namespace herald
