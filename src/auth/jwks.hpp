#pragma once
// Key sets: the keys a verifier may use, swapped whole when a JWK Set is refreshed.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/jwt_key.hpp"
#include "core/errors.hpp"

namespace herald {

/// Thread-safe holder of the current keys. Readers take a snapshot; refresh replaces it.
class KeySet {
 public:
  KeySet() = default;
  explicit KeySet(std::vector<JwtKey> keys) { replace(std::move(keys)); }
  void replace(std::vector<JwtKey> keys) {
    auto p = std::make_shared<const std::vector<JwtKey>>(std::move(keys));
    std::lock_guard lock(mutex_);
    keys_ = std::move(p);
    generation_.fetch_add(1, std::memory_order_release);
  }
  /// Changes whenever the keys are replaced (verification caches compare it).
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const std::vector<JwtKey>> snapshot() const {
    std::lock_guard lock(mutex_);
    return keys_;
  }
  bool empty() const { auto s = snapshot(); return !s || s->empty(); }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const std::vector<JwtKey>> keys_;
  std::atomic<std::uint64_t> generation_{0};
};

/// Parses a JWK Set document ({"keys":[...]}); keys that cannot be used for signatures are
/// skipped. Fails when the document is malformed or holds no usable key.
Result<std::vector<JwtKey>> parse_jwks(std::string_view document, JwtAlg fallback, std::string* why);

/// Reads the document behind a file:// URL. (https:// is fetched by the HTTP layer.)
Result<std::string> read_file_url(const std::string& url, std::string* why);

}  // namespace herald
