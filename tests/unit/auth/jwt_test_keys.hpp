#pragma once
// Key pairs generated once per test run with OpenSSL (no key material in the repository).
#include <string>

namespace herald::test {
struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};
const KeyPair& rsa_key();
const KeyPair& rsa_key_other();
const KeyPair& ec_key(int bits);  // 256, 384 or 521
const KeyPair& ed25519_key();
/// A compact JWS with the given header and claims JSON, signed with `key` (secret or private PEM).
std::string sign_token(const std::string& header_json, const std::string& claims_json, const std::string& alg,
                       const std::string& key);
}  // namespace herald::test

namespace herald::test {
/// The public JWK (JSON text) of a PEM public key (RSA, EC or Ed25519), with `kid`.
std::string public_jwk(const std::string& public_pem, const std::string& kid);
}  // namespace herald::test
