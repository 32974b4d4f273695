#include "support/pg_server.hpp"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>
#include <vector>

#include <libpq-fe.h>

#include "support/redis_server.hpp"

namespace herald::test {
namespace {

/// The newest /usr/lib/postgresql/<version>/bin (Debian's layout).
std::string find_bin() {
  std::string best;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    auto bin = e.path() / "bin";
    if (std::filesystem::exists(bin / "postgres") && bin.string() > best) best = bin.string();
  }
  if (best.empty()) throw std::runtime_error("no PostgreSQL server in /usr/lib/postgresql (install the postgresql package)");
  return best;
}

/// Runs as the postgres user when root (initdb and postgres refuse root).
void drop_root() {
  if (::geteuid() != 0) return;
  passwd* pw = ::getpwnam("postgres");
  if (!pw) std::_Exit(126);
  if (::setgroups(0, nullptr) != 0 || ::setgid(pw->pw_gid) != 0 || ::setuid(pw->pw_uid) != 0) std::_Exit(126);
}

void run(const std::vector<std::string>& args, const std::string& log) {
  pid_t pid = ::fork();
  if (pid == 0) {
    drop_root();
    std::FILE* out = std::freopen(log.c_str(), "a", stdout);
    if (out) ::dup2(::fileno(stdout), 2);
    std::vector<char*> argv;
    for (auto a : args) argv.push_back(::strdup(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(args[0] + " failed; see " + log);
}

std::string conninfo(int port, const std::string& db) {
  return "host=127.0.0.1 port=" + std::to_string(port) + " user=postgres password=secret dbname=" + db +
         " connect_timeout=2";
}

}  // namespace

PgServer::PgServer() : bin_(find_bin()) {
  char tmpl[] = "/tmp/herald-pg-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  if (::geteuid() == 0) {
    passwd* pw = ::getpwnam("postgres");
    if (!pw) throw std::runtime_error("no postgres user (install the postgresql package)");
    if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown failed");
  }
  port_ = RedisServer::free_port();
  {
    std::ofstream(dir_ + "/pw") << "secret\n";
  }
  if (::geteuid() == 0) {
    passwd* pw = ::getpwnam("postgres");
    if (::chown((dir_ + "/pw").c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown failed");
  }
  // initdb once per machine and user into a template (each test process copies it: a
  // second, not the initdb's several), made atomically by a rename.
  std::string version = std::filesystem::path(bin_).parent_path().filename().string();
  std::string tmpl_dir = std::filesystem::temp_directory_path() /
                         ("herald-pg-template-" + version + "-" + std::to_string(::geteuid()));
  if (!std::filesystem::exists(tmpl_dir + "/PG_VERSION")) {
    run({bin_ + "/initdb", "-D", dir_ + "/data", "-U", "postgres", "--pwfile=" + dir_ + "/pw", "--auth-local=trust",
         "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"},
        dir_ + "/initdb.log");
    std::string staging = tmpl_dir + "." + std::to_string(::getpid());
    std::error_code ec;
    run({"/bin/cp", "-a", dir_ + "/data", staging}, dir_ + "/copy.log");  // as postgres: its own files
    std::filesystem::rename(staging, tmpl_dir, ec);  // fails harmlessly when another process won
    std::filesystem::remove_all(staging, ec);
  } else {
    run({"/bin/cp", "-a", tmpl_dir, dir_ + "/data"}, dir_ + "/copy.log");
  }
  start();
  PGconn* c = PQconnectdb(conninfo(port_, "postgres").c_str());
  PGresult* r = PQexec(c, "CREATE DATABASE herald");
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error("CREATE DATABASE herald failed");
}

PgServer::~PgServer() {
  stop(false);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string PgServer::url(const std::string& query) const {
  return "postgres://postgres:secret@127.0.0.1:" + std::to_string(port_) + "/herald" + query;
}

void PgServer::start() {
  std::string log = dir_ + "/postgres.log";
  pid_ = ::fork();
  if (pid_ == 0) {
    ::setsid();  // its own process group: stop(true) kills the backends with it
    drop_root();
    std::FILE* out = std::freopen(log.c_str(), "a", stdout);
    if (out) ::dup2(::fileno(stdout), 2);
    std::string port = std::to_string(port_);
    std::string data = dir_ + "/data";
    std::string postgres = bin_ + "/postgres";
    std::vector<std::string> args{postgres, "-D", data, "-p", port, "-k", dir_, "-c", "listen_addresses=127.0.0.1",
                                  "-c", "fsync=off", "-c", "max_connections=200", "-c", "shared_buffers=64MB"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(::strdup(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::ifstream in(log);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      throw std::runtime_error("postgres exited at start: " + text.substr(text.size() > 2000 ? text.size() - 2000 : 0));
    }
    PGconn* c = PQconnectdb(conninfo(port_, "postgres").c_str());
    bool up = PQstatus(c) == CONNECTION_OK;
    PQfinish(c);
    if (up) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a process we just started
  }
  throw std::runtime_error("postgres did not accept connections within 30 s; see " + log);
}

void PgServer::stop(bool hard) {
  if (pid_ <= 0) return;
  if (hard) ::kill(-pid_, SIGKILL);  // the postmaster and every backend: a crash
  else ::kill(pid_, SIGINT);         // fast shutdown
  int status = 0;
  ::waitpid(pid_, &status, 0);
  if (hard) {
    // The backends were in the group too; wait until none holds the port's shared memory.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (::kill(-pid_, 0) == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
}

std::string PgServer::sql(const std::string& statement) const {
  PGconn* c = PQconnectdb(conninfo(port_, "herald").c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string e = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("cannot connect to the test PostgreSQL: " + e);
  }
  PGresult* r = PQexec(c, statement.c_str());
  auto status = PQresultStatus(r);
  std::string out;
  if (status == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
  std::string error = PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) throw std::runtime_error("SQL failed: " + error);
  return out;
}

}  // namespace herald::test
