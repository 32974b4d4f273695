#include "support/fixture_process.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace herald::test {

FixtureProcess::FixtureProcess(const std::string& name, const std::string& script,
                               const std::vector<std::string>& args, int start_seconds)
    : name_(name) {
  int in[2], out[2];
  if (::pipe(in) != 0 || ::pipe(out) != 0) throw std::runtime_error("pipe failed");
  std::string path = std::string(HERALD_SOURCE_DIR) + "/" + script;
  std::vector<std::string> argv_strings{"python3", path};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::close(in[1]);
    ::close(out[0]);
    ::execvp("python3", argv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  to_child_ = in[1];
  from_child_ = out[0];
  std::string first = read_line(start_seconds);
  info_ = nlohmann::json::parse(first, nullptr, false);
  if (!info_.is_object()) throw std::runtime_error(name_ + " fixture failed: " + first);
}

FixtureProcess::~FixtureProcess() {
  if (to_child_ >= 0) ::close(to_child_);  // end of input: the fixture stops its servers
  for (int i = 0; i < 300; ++i) {        // bounded: 30 s, then it is killed
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (from_child_ >= 0) ::close(from_child_);
}

void FixtureProcess::command(const std::string& line, int seconds) {
  std::string text = line + "\n";
  if (::write(to_child_, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw std::runtime_error(name_ + " fixture: write failed");
  std::string answer = read_line(seconds);
  if (answer != "ok") throw std::runtime_error(name_ + " fixture: " + line + ": " + answer);
}

std::string FixtureProcess::read_line(int timeout_seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      throw std::runtime_error(name_ + " fixture: no answer within " + std::to_string(timeout_seconds) + " s");
    pollfd p{from_child_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[4096];
    ssize_t n = ::read(from_child_, chunk, sizeof chunk);
    if (n <= 0) throw std::runtime_error(name_ + " fixture exited: " + buffer_);
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace herald::test
