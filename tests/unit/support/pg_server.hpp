#pragma once
// A throwaway PostgreSQL for tests: initdb in a temp dir, postgres on a free loopback port
// (run as the `postgres` user when the tests run as root), a database "herald", password
// authentication over TCP (user postgres, password "secret"). Stopped when the object goes;
// stop(true) SIGKILLs the postmaster and its backends (a crash), start() brings it back on
// the same port and data. A missing PostgreSQL is a test failure, never a skip.
#include <string>

#include <sys/types.h>

namespace herald::test {

class PgServer {
 public:
  PgServer();
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  int port() const { return port_; }
  /// postgres://postgres:secret@127.0.0.1:PORT/herald, then `query` ("?table=x").
  std::string url(const std::string& query = "") const;
  /// Runs SQL on the "herald" database over a fresh connection; throws on error. Returns the
  /// first column of the first row ("" when none).
  std::string sql(const std::string& statement) const;
  void stop(bool hard = false);
  void start();

 private:
  std::string bin_, dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace herald::test
