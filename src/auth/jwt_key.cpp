#include "auth/jwt_key.hpp"

#include <array>
#include <cstring>

#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "auth/base64url.hpp"

namespace herald {
namespace {

struct AlgInfo {
  JwtAlg alg;
  const char* name;
  const EVP_MD* (*md)();
  char family;  // 'H' HMAC, 'R' RSA PKCS#1 v1.5, 'P' RSA-PSS, 'E' ECDSA, 'D' EdDSA
  int ec_size;  // bytes per ECDSA coordinate
  const char* curve;
};

const EVP_MD* no_md() { return nullptr; }

// clang-format off
const AlgInfo kAlgs[] = {
  {JwtAlg::HS256, "HS256", EVP_sha256, 'H', 0, nullptr},
  {JwtAlg::HS384, "HS384", EVP_sha384, 'H', 0, nullptr},
  {JwtAlg::HS512, "HS512", EVP_sha512, 'H', 0, nullptr},
  {JwtAlg::RS256, "RS256", EVP_sha256, 'R', 0, nullptr},
  {JwtAlg::RS384, "RS384", EVP_sha384, 'R', 0, nullptr},
  {JwtAlg::RS512, "RS512", EVP_sha512, 'R', 0, nullptr},
  {JwtAlg::PS256, "PS256", EVP_sha256, 'P', 0, nullptr},
  {JwtAlg::PS384, "PS384", EVP_sha384, 'P', 0, nullptr},
  {JwtAlg::PS512, "PS512", EVP_sha512, 'P', 0, nullptr},
  {JwtAlg::ES256, "ES256", EVP_sha256, 'E', 32, "prime256v1"},
  {JwtAlg::ES384, "ES384", EVP_sha384, 'E', 48, "secp384r1"},
  {JwtAlg::ES512, "ES512", EVP_sha512, 'E', 66, "secp521r1"},
  {JwtAlg::EdDSA, "EdDSA", no_md, 'D', 0, nullptr},
};
// clang-format on

const AlgInfo& info(JwtAlg alg) {
  for (const auto& a : kAlgs)
    if (a.alg == alg) return a;
  return kAlgs[0];
}

std::shared_ptr<EVP_PKEY> wrap(EVP_PKEY* k) { return {k, EVP_PKEY_free}; }

std::shared_ptr<EVP_PKEY> load_public_pem(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return nullptr;
  if (EVP_PKEY* k = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)) return wrap(k);
  BIO_reset(bio.get());
  if (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    EVP_PKEY* k = X509_get_pubkey(cert);
    X509_free(cert);
    if (k) return wrap(k);
  }
  return nullptr;
}

std::shared_ptr<EVP_PKEY> load_private_pem(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return nullptr;
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  return k ? wrap(k) : nullptr;
}

/// Checks that the key's type suits the algorithm family (no key-type confusion).
bool key_suits(EVP_PKEY* k, const AlgInfo& a, std::string* why) {
  int id = EVP_PKEY_get_base_id(k);
  switch (a.family) {
    case 'R':
      if (id == EVP_PKEY_RSA) return true;
      break;
    case 'P':
      if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) return true;
      break;
    case 'E': {
      if (id != EVP_PKEY_EC) break;
      char group[64] = {0};
      std::size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) == 1 &&
          std::strcmp(group, a.curve) == 0)
        return true;
      if (why) *why = std::string("the EC key is not on the curve of ") + a.name;
      return false;
    }
    case 'D':
      if (id == EVP_PKEY_ED25519) return true;
      break;
    default:
      break;
  }
  if (why) *why = std::string("the key type does not match algorithm ") + a.name;
  return false;
}

std::string ecdsa_raw_to_der(std::string_view raw, int size) {
  if (raw.size() != static_cast<std::size_t>(2 * size)) return {};
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), size, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + size, size, nullptr);
  ECDSA_SIG_set0(sig, r, s);
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig, &der);
  std::string out;
  if (len > 0) out.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

std::string ecdsa_der_to_raw(const std::string& der, int size) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (!sig) return {};
  std::string out(static_cast<std::size_t>(2 * size), '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(out.data()), size);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(out.data()) + size, size);
  ECDSA_SIG_free(sig);
  return out;
}

std::string hmac(const AlgInfo& a, std::string_view key, std::string_view input) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(a.md(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(input.data()),
            input.size(), out, &len))
    return {};
  return std::string(reinterpret_cast<char*>(out), len);
}

bool setup_padding(EVP_PKEY_CTX* pctx, const AlgInfo& a) {
  if (a.family == 'P') {
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0;
  }
  return true;
}

Result<std::shared_ptr<EVP_PKEY>> pkey_from_params(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* pkey = nullptr;
  bool ok = ctx && params && EVP_PKEY_fromdata_init(ctx) > 0 &&
            EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) > 0;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  if (!ok) return Errc::invalid_argument;
  return wrap(pkey);
}

std::optional<std::string> jwk_field(const nlohmann::json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return std::nullopt;
  return base64url_decode(it->get<std::string>());
}

/// For a PEM key given with an HMAC algorithm: the algorithm probably meant.
std::string meant_algorithm(const std::string& pem) {
  auto pkey = load_public_pem(pem);
  if (!pkey) return "a PEM private key does not belong here either: give the public key with RS256, ES256 or EdDSA";
  switch (EVP_PKEY_get_base_id(pkey.get())) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS: return "this is an RSA public key: did you mean RS256 (or RS384, RS512, PS256)?";
    case EVP_PKEY_EC: return "this is an EC public key: did you mean ES256 (or ES384, ES512)?";
    case EVP_PKEY_ED25519: return "this is an Ed25519 public key: did you mean EdDSA?";
    default: return "set the algorithm that suits the key";
  }
}
}  // namespace

std::optional<JwtAlg> parse_jwt_alg(std::string_view name) {
  for (const auto& a : kAlgs)
    if (name == a.name) return a.alg;
  return std::nullopt;
}

std::string_view jwt_alg_name(JwtAlg alg) { return info(alg).name; }

Result<JwtKey> JwtKey::from_config(const std::string& key, JwtAlg alg, std::string* why) {
  const AlgInfo& a = info(alg);
  JwtKey k;
  k.alg_ = alg;
  if (a.family == 'H') {
    if (key.empty()) {
      if (why) *why = "the HMAC secret is empty";
      return Errc::invalid_argument;
    }
    // A PEM block used as an HMAC secret: anyone holding the (public) key could sign.
    if (key.find("-----BEGIN") != std::string::npos) {
      if (why) *why = std::string(a.name) + " needs a shared secret, not a PEM key; " + meant_algorithm(key);
      return Errc::invalid_argument;
    }
    k.secret_ = key;
    return k;
  }
  k.pkey_ = load_public_pem(key);
  if (!k.pkey_) {
    if (why) *why = std::string("algorithm ") + a.name + " needs a PEM public key (-----BEGIN PUBLIC KEY-----)";
    return Errc::invalid_argument;
  }
  if (!key_suits(k.pkey_.get(), a, why)) return Errc::invalid_argument;
  return k;
}

Result<JwtKey> JwtKey::from_jwk(const nlohmann::json& jwk, JwtAlg fallback, std::string* why) {
  if (!jwk.is_object() || !jwk.contains("kty") || !jwk["kty"].is_string()) {
    if (why) *why = "a JWK without kty";
    return Errc::invalid_argument;
  }
  if (auto use = jwk.find("use"); use != jwk.end() && use->is_string() && *use != "sig") {
    if (why) *why = "a JWK not meant for signatures";
    return Errc::invalid_argument;
  }
  std::string kty = jwk["kty"];
  std::optional<JwtAlg> alg;
  if (auto it = jwk.find("alg"); it != jwk.end() && it->is_string()) {
    alg = parse_jwt_alg(it->get<std::string>());
    if (!alg) {
      if (why) *why = "a JWK with an unsupported alg";
      return Errc::invalid_argument;
    }
  }
  JwtKey k;
  if (auto it = jwk.find("kid"); it != jwk.end() && it->is_string()) k.kid_ = *it;
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
  if (kty == "oct") {
    auto secret = jwk_field(jwk, "k");
    if (!secret || secret->empty()) return Errc::invalid_argument;
    k.alg_ = alg.value_or(info(fallback).family == 'H' ? fallback : JwtAlg::HS256);
    k.secret_ = *secret;
  } else if (kty == "RSA") {
    auto n = jwk_field(jwk, "n");
    auto e = jwk_field(jwk, "e");
    if (!n || !e) return Errc::invalid_argument;
    BIGNUM* bn = BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), static_cast<int>(n->size()), nullptr);
    BIGNUM* be = BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), static_cast<int>(e->size()), nullptr);
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn);
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, be);
    auto pkey = pkey_from_params("RSA", bld.get());
    BN_free(bn);
    BN_free(be);
    if (!pkey) return Errc::invalid_argument;
    k.pkey_ = *pkey;
    char f = info(fallback).family;
    k.alg_ = alg.value_or(f == 'R' || f == 'P' ? fallback : JwtAlg::RS256);
  } else if (kty == "EC") {
    auto x = jwk_field(jwk, "x");
    auto y = jwk_field(jwk, "y");
    std::string crv = jwk.value("crv", "");
    JwtAlg by_curve;
    if (crv == "P-256") by_curve = JwtAlg::ES256;
    else if (crv == "P-384") by_curve = JwtAlg::ES384;
    else if (crv == "P-521") by_curve = JwtAlg::ES512;
    else return Errc::invalid_argument;
    if (!x || !y) return Errc::invalid_argument;
    std::string point = "\x04" + *x + *y;
    OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, info(by_curve).curve, 0);
    OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
    auto pkey = pkey_from_params("EC", bld.get());
    if (!pkey) return Errc::invalid_argument;
    k.pkey_ = *pkey;
    k.alg_ = alg.value_or(by_curve);
  } else if (kty == "OKP") {
    auto x = jwk_field(jwk, "x");
    if (jwk.value("crv", "") != "Ed25519" || !x) return Errc::invalid_argument;
    EVP_PKEY* p = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                              reinterpret_cast<const unsigned char*>(x->data()), x->size());
    if (!p) return Errc::invalid_argument;
    k.pkey_ = wrap(p);
    k.alg_ = alg.value_or(JwtAlg::EdDSA);
  } else {
    if (why) *why = "a JWK of unsupported type " + kty;
    return Errc::invalid_argument;
  }
  const AlgInfo& a = info(k.alg_);
  if ((a.family == 'H') != (k.pkey_ == nullptr)) {
    // An oct key with an asymmetric alg, or an asymmetric key with an HMAC alg.
    if (why) *why = "a JWK whose alg does not match its kty";
    return Errc::invalid_argument;
  }
  if (k.pkey_ && !key_suits(k.pkey_.get(), a, why)) return Errc::invalid_argument;
  return k;
}

bool JwtKey::verify(std::string_view input, std::string_view signature) const {
  const AlgInfo& a = info(alg_);
  if (a.family == 'H') {
    std::string expected = hmac(a, secret_, input);
    return !expected.empty() && expected.size() == signature.size() &&
           CRYPTO_memcmp(expected.data(), signature.data(), signature.size()) == 0;
  }
  if (!pkey_) return false;
  std::string der;
  if (a.family == 'E') {
    der = ecdsa_raw_to_der(signature, a.ec_size);
    if (der.empty()) return false;
    signature = der;
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, a.md(), nullptr, pkey_.get()) != 1) return false;
  if (!setup_padding(pctx, a)) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

Result<std::string> jwt_sign(JwtAlg alg, const std::string& key, std::string_view input, std::string* why) {
  const AlgInfo& a = info(alg);
  if (a.family == 'H') {
    if (key.empty()) return Errc::invalid_argument;
    return hmac(a, key, input);
  }
  auto pkey = load_private_pem(key);
  if (!pkey) {
    if (why) *why = std::string("algorithm ") + a.name + " needs a PEM private key";
    return Errc::invalid_argument;
  }
  if (!key_suits(pkey.get(), a, why)) return Errc::invalid_argument;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestSignInit(ctx.get(), &pctx, a.md(), nullptr, pkey.get()) != 1 || !setup_padding(pctx, a))
    return Errc::invalid_argument;
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    return Errc::invalid_argument;
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    return Errc::invalid_argument;
  sig.resize(len);
  if (a.family == 'E') return ecdsa_der_to_raw(sig, a.ec_size);
  return sig;
}

}  // namespace herald
