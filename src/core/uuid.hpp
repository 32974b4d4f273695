#pragma once
#include <array>
#include <cstdint>
#include <string>

namespace herald {
/// A UUID's 16 bytes, written out as "urn:uuid:..." only when needed: subscriber ids, kept
/// small because subscribers are many (see BENCHMARKS.md, idle memory).
struct Uuid {
  std::array<std::uint8_t, 16> bytes{};
  /// "urn:uuid:" + the canonical lower-case form.
  std::string urn() const;
  /// A random UUIDv4. Thread-safe.
  static Uuid random_v4();
  friend bool operator==(const Uuid&, const Uuid&) = default;
};

/// "urn:uuid:" + a random UUIDv4 (subscriber ids). Thread-safe.
std::string make_urn_uuid_v4();
/// "urn:uuid:" + a UUIDv7 (time-ordered; generated update ids, like the reference hub since v0.21). Thread-safe.
std::string make_urn_uuid_v7();
}  // namespace herald
