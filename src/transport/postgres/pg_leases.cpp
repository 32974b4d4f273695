#include "transport/postgres/pg_leases.hpp"

#include "transport/postgres/pg_text.hpp"

namespace herald {
namespace {

std::string ms(Duration d) { return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()); }

class PgLeases final : public Leases {
 public:
  explicit PgLeases(std::shared_ptr<PgCore> core) : core_(std::move(core)), t_(core_->t()) {}

  Task<Result<std::optional<Lease>>> acquire(std::string name, Duration ttl) override {
    auto r = co_await core_->call(
        "INSERT INTO " + t_ + "leases (name, token, holder, expires_at) VALUES ($1, nextval('" + t_ +
            "lease_tokens'), $2, now() + interval '1 millisecond' * $3) ON CONFLICT (name) DO UPDATE SET token = "
            "EXCLUDED.token, holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at WHERE " + t_ +
            "leases.expires_at < now() RETURNING token", pg_text::params(name, core_->node_id(), ms(ttl)));
    if (!r) co_return r.error();
    if (r->rows() == 0) co_return std::optional<Lease>{};
    co_return std::optional<Lease>(Lease{std::move(name), std::uint64_t(r->integer(0, 0))});
  }

  Task<Result<bool>> renew(const Lease& lease, Duration ttl) override {
    auto r = co_await core_->call("UPDATE " + t_ + "leases SET expires_at = now() + interval '1 millisecond' * $3 "
                                  "WHERE name = $1 AND token = $2 RETURNING 1", pg_text::params(lease.name, std::to_string(lease.token), ms(ttl)));
    if (!r) co_return Result<bool>(boost::system::in_place_error, r.error());
    co_return Result<bool>(boost::system::in_place_value, r->rows() == 1);
  }

  Task<Result<void>> release(const Lease& lease) override {
    auto r = co_await core_->call("DELETE FROM " + t_ + "leases WHERE name = $1 AND token = $2", pg_text::params(lease.name, std::to_string(lease.token)));
    if (!r) co_return r.error();
    co_return Result<void>{};
  }

  Task<Result<std::optional<std::string>>> holder(std::string name) override {
    auto r = co_await core_->call("SELECT holder FROM " + t_ + "leases WHERE name = $1 AND expires_at >= now()",
                                  pg_text::params(name));
    if (!r) co_return r.error();
    if (r->rows() == 0) co_return std::optional<std::string>{};
    co_return std::optional<std::string>{r->text(0, 0)};
  }

 private:
  std::shared_ptr<PgCore> core_;
  std::string t_;
};

}  // namespace

std::unique_ptr<Leases> make_pg_leases(std::shared_ptr<PgCore> core) { return std::make_unique<PgLeases>(std::move(core)); }

}  // namespace herald
