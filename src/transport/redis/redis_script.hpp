#pragma once
// A Lua script and its SHA-1 digest (EVALSHA sends the digest; the text only when Redis
// does not have it yet).
#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace herald {

struct RedisScript {
  explicit RedisScript(const char* t) : text(t), sha(sha1_hex(t)) {}
  std::string text;
  std::string sha;

 private:
  static std::string sha1_hex(std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(text.data(), text.size(), digest, &n, EVP_sha1(), nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
      out += hex[digest[i] >> 4];
      out += hex[digest[i] & 15];
    }
    return out;
  }
};

}  // namespace herald
