#include "auth/jwt_test_keys.hpp"

#include <map>
#include <memory>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/base64url.hpp"
#include "auth/jwt_key.hpp"

namespace herald::test {
namespace {
KeyPair to_pems(EVP_PKEY* pkey) {
  KeyPair kp;
  auto dump = [](auto writer) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    writer(bio.get());
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
  };
  kp.private_pem = dump([&](BIO* b) { PEM_write_bio_PrivateKey(b, pkey, nullptr, nullptr, 0, nullptr, nullptr); });
  kp.public_pem = dump([&](BIO* b) { PEM_write_bio_PUBKEY(b, pkey); });
  EVP_PKEY_free(pkey);
  return kp;
}
}  // namespace

const KeyPair& rsa_key() {
  static const KeyPair kp = to_pems(EVP_RSA_gen(2048));
  return kp;
}
const KeyPair& rsa_key_other() {
  static const KeyPair kp = to_pems(EVP_RSA_gen(2048));
  return kp;
}
const KeyPair& ec_key(int bits) {
  static std::map<int, KeyPair> keys;
  auto it = keys.find(bits);
  if (it != keys.end()) return it->second;
  const char* curve = bits == 256 ? "P-256" : bits == 384 ? "P-384" : "P-521";
  return keys.emplace(bits, to_pems(EVP_EC_gen(curve))).first->second;
}
const KeyPair& ed25519_key() {
  static const KeyPair kp = to_pems(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  return kp;
}

std::string sign_token(const std::string& header_json, const std::string& claims_json, const std::string& alg,
                       const std::string& key) {
  std::string input = base64url_encode(header_json) + "." + base64url_encode(claims_json);
  auto a = parse_jwt_alg(alg);
  if (!a) throw std::runtime_error("bad alg " + alg);
  auto sig = jwt_sign(*a, key, input, nullptr);
  if (!sig) throw std::runtime_error("cannot sign with " + alg);
  return input + "." + base64url_encode(*sig);
}
}  // namespace herald::test

#include <openssl/core_names.h>
#include <nlohmann/json.hpp>

namespace herald::test {
std::string public_jwk(const std::string& public_pem, const std::string& kid) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())),
                                                BIO_free);
  EVP_PKEY* k = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (!k) throw std::runtime_error("bad pem");
  auto bn_b64 = [&](const char* name, std::size_t pad) {
    BIGNUM* bn = nullptr;
    EVP_PKEY_get_bn_param(k, name, &bn);
    std::string out(pad ? pad : static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
    BN_free(bn);
    return base64url_encode(out);
  };
  nlohmann::json jwk{{"kid", kid}, {"use", "sig"}};
  int id = EVP_PKEY_get_base_id(k);
  if (id == EVP_PKEY_RSA) {
    jwk["kty"] = "RSA";
    jwk["n"] = bn_b64(OSSL_PKEY_PARAM_RSA_N, 0);
    jwk["e"] = bn_b64(OSSL_PKEY_PARAM_RSA_E, 0);
  } else if (id == EVP_PKEY_EC) {
    char group[64] = {0};
    std::size_t len = 0;
    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len);
    std::string g = group;
    std::size_t size = g == "prime256v1" ? 32 : g == "secp384r1" ? 48 : 66;
    jwk["kty"] = "EC";
    jwk["crv"] = g == "prime256v1" ? "P-256" : g == "secp384r1" ? "P-384" : "P-521";
    jwk["x"] = bn_b64(OSSL_PKEY_PARAM_EC_PUB_X, size);
    jwk["y"] = bn_b64(OSSL_PKEY_PARAM_EC_PUB_Y, size);
  } else {
    unsigned char raw[32];
    std::size_t len = sizeof raw;
    EVP_PKEY_get_raw_public_key(k, raw, &len);
    jwk["kty"] = "OKP";
    jwk["crv"] = "Ed25519";
    jwk["x"] = base64url_encode(std::string(reinterpret_cast<char*>(raw), len));
  }
  EVP_PKEY_free(k);
  return jwk.dump();
}
}  // namespace herald::test
