#pragma once
// A test fixture that runs as a child process (a Python script under tests/ that starts real
// servers): its first output line is a JSON object describing what it started; then it reads
// one command per line ("kill 0", "stop 0", "start 0", ...) and answers "ok" or an error; at the
// end of its input it stops everything and removes its temp dir. A missing server binary or
// jar is a test failure, never a skip.
#include <string>
#include <vector>

#include <sys/types.h>

#include <nlohmann/json.hpp>

namespace herald::test {

class FixtureProcess {
 public:
  /// Runs `python3 <source dir>/<script> args...` and waits (at most `start_seconds`) for its
  /// first line. Throws with the fixture's words when it fails.
  FixtureProcess(const std::string& name, const std::string& script, const std::vector<std::string>& args,
                 int start_seconds);
  /// Ends the fixture's input and waits for it (30 s), then kills it.
  ~FixtureProcess();
  FixtureProcess(const FixtureProcess&) = delete;
  FixtureProcess& operator=(const FixtureProcess&) = delete;

  /// The first line, parsed.
  const nlohmann::json& info() const { return info_; }
  /// Sends a command line and waits (at most `seconds`) for "ok"; throws otherwise.
  void command(const std::string& line, int seconds = 120);

 private:
  std::string read_line(int timeout_seconds);

  std::string name_;
  pid_t pid_ = -1;
  int to_child_ = -1, from_child_ = -1;
  std::string buffer_;
  nlohmann::json info_;
};

}  // namespace herald::test
