#include "core/uuid.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <random>

namespace herald {
namespace {
std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }()};
  return gen;
}

std::string format(const std::array<std::uint8_t, 16>& b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "urn:uuid:";
  out.reserve(45);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 15]);
  }
  return out;
}

void fill_random(std::array<std::uint8_t, 16>& b, int from) {
  auto& gen = rng();
  for (int i = from; i < 16; i += 8) {
    std::uint64_t r = gen();
    for (int j = 0; j < 8 && i + j < 16; ++j) b[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
  }
}
}  // namespace

Uuid Uuid::random_v4() {
  Uuid u;
  fill_random(u.bytes, 0);
  u.bytes[6] = (u.bytes[6] & 0x0f) | 0x40;
  u.bytes[8] = (u.bytes[8] & 0x3f) | 0x80;
  return u;
}

std::string Uuid::urn() const { return format(bytes); }

std::string make_urn_uuid_v4() { return Uuid::random_v4().urn(); }

std::string make_urn_uuid_v7() {
  std::array<std::uint8_t, 16> b{};
  fill_random(b, 0);
  auto ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch()).count());
  for (int i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(ms >> (8 * (5 - i)));
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  return format(b);
}
}  // namespace herald
