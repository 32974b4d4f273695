#pragma once
// A verification key with its pinned algorithm. A token is only ever checked with a key
// whose algorithm equals the token's `alg` exactly, so `none`, HS/RS confusion and
// key-type confusion cannot happen: the key type is checked against the algorithm when
// the key is loaded.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/errors.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace herald {

enum class JwtAlg { HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA };

std::optional<JwtAlg> parse_jwt_alg(std::string_view name);
std::string_view jwt_alg_name(JwtAlg alg);

/// Immutable; verify() is thread-safe.
class JwtKey {
 public:
  /// From configuration: an HMAC secret (HS*) or a PEM public key (or certificate).
  /// Returns an error message when the key does not suit the algorithm.
  static Result<JwtKey> from_config(const std::string& key, JwtAlg alg, std::string* why);
  /// From one JWK of a JWK Set. `fallback` is used for RSA keys without "alg".
  static Result<JwtKey> from_jwk(const nlohmann::json& jwk, JwtAlg fallback, std::string* why);

  JwtAlg alg() const { return alg_; }
  const std::string& kid() const { return kid_; }

  /// Checks `signature` (raw bytes, JWS form) over `signing_input`.
  bool verify(std::string_view signing_input, std::string_view signature) const;

 private:
  JwtAlg alg_ = JwtAlg::HS256;
  std::string kid_;
  std::string secret_;
  std::shared_ptr<EVP_PKEY> pkey_;
};

/// Signs `signing_input` with an HMAC secret or a PEM private key (tools and tests).
Result<std::string> jwt_sign(JwtAlg alg, const std::string& key, std::string_view signing_input, std::string* why);

}  // namespace herald
