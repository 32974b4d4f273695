#include "transport/redis/redis_leases.hpp"

namespace herald {
namespace {
using Args = RedisCore::Args;

// KEYS: lease, fence. ARGV: owner, ttl ms. Returns the fencing token, 0 when held by another.
constexpr const char* kAcquire = R"lua(
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
return token
)lua";
// KEYS: lease. ARGV: holder ("owner:token"), ttl ms. 1 when still held (and extended).
constexpr const char* kRenew = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
)lua";
// KEYS: lease. ARGV: holder. Deletes only the holder's own lease.
constexpr const char* kRelease = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
)lua";

std::string ms(Duration d) { return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()); }

class RedisLeases final : public Leases {
 public:
  explicit RedisLeases(std::shared_ptr<RedisCore> core)
      : core_(std::move(core)), acquire_(kAcquire), renew_(kRenew), release_(kRelease) {}

  Task<Result<std::optional<Lease>>> acquire(std::string name, Duration ttl) override {
    if (core_->state() == RedisCore::State::closed) co_return make_error_code(Errc::closed);
    Args args{key(name), key(name) + ":fence", core_->node_id(), ms(ttl)};
    auto reply = co_await core_->eval(acquire_, 2, std::move(args));
    if (!reply) co_return make_error_code(Errc::transport_failure);
    auto token = reply->as_integer().value_or(0);
    if (token <= 0) co_return std::optional<Lease>{};
    co_return std::optional<Lease>{Lease{std::move(name), static_cast<std::uint64_t>(token)}};
  }

  Task<Result<bool>> renew(const Lease& lease, Duration ttl) override {
    Args args{key(lease.name), held_value(lease), ms(ttl)};
    auto reply = co_await core_->eval(renew_, 1, std::move(args));
    // (result<bool> takes an error_code for a bool without the tag)
    if (!reply) co_return Result<bool>(boost::system::in_place_error, make_error_code(Errc::transport_failure));
    co_return reply->as_integer().value_or(0) == 1;
  }

  Task<Result<void>> release(const Lease& lease) override {
    Args args{key(lease.name), held_value(lease)};
    auto reply = co_await core_->eval(release_, 1, std::move(args));
    if (!reply) co_return make_error_code(Errc::transport_failure);
    co_return Result<void>{};
  }

  Task<Result<std::optional<std::string>>> holder(std::string name) override {
    Args args{"GET", key(name)};
    auto reply = co_await core_->call(std::move(args));
    if (!reply) co_return make_error_code(Errc::transport_failure);
    if (reply->is_nil()) co_return std::optional<std::string>{};
    const std::string& held = reply->str;  // "owner:token"
    co_return std::optional<std::string>{held.substr(0, held.rfind(':'))};
  }

 private:
  std::string key(const std::string& name) const { return core_->prefix() + "lease:" + name; }
  std::string held_value(const Lease& lease) const { return core_->node_id() + ":" + std::to_string(lease.token); }

  std::shared_ptr<RedisCore> core_;
  RedisScript acquire_, renew_, release_;
};

}  // namespace

std::unique_ptr<Leases> make_redis_leases(std::shared_ptr<RedisCore> core) {
  return std::make_unique<RedisLeases>(std::move(core));
}

}  // namespace herald
