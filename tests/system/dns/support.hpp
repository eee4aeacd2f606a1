// Process, file and SQLite helpers for the DNS system test: temporary
// directories, spawning the built binaries with their output in files, waiting
// for a child with a deadline, and writing rows into the SQLite file.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../unit/temp_dir.hpp"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace systest {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// The environment variable, or an exception naming it.
inline std::string required_env(const char* name) {
    const char* v = std::getenv(name);
    if (!v || !*v) throw std::runtime_error(std::string("set ") + name + " to the path of the built binary");
    return v;
}

using pooldns::test::TempDir;  // shared with the unit tests

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline void write_file(const std::filesystem::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + p.string());
}

// Starts argv[0] with stdin from /dev/null and stdout and stderr appended to
// `output` (one file for both). Returns the pid.
inline pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& output) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    // The child starts with default signal handling and an empty mask, whatever this process has.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, argv.at(0).c_str(), &fa, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
    return pid;
}

// Waits up to timeout_ms for the child to exit; returns its wait status, or
// nullopt when it is still running. Uses a pidfd (an event), else polls waitpid.
inline std::optional<int> wait_exit(pid_t pid, int timeout_ms) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) throw std::runtime_error("waitpid: " + std::string(std::strerror(errno)));
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    int pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left < 0) left = 0;
        if (pfd >= 0) {
            pollfd p{pfd, POLLIN, 0};
            ::poll(&p, 1, static_cast<int>(left));
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(std::min<long>(5, left)));
        }
        r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid || left == 0) break;
    }
    if (pfd >= 0) ::close(pfd);
    if (r == pid) return status;
    return std::nullopt;
}

inline std::string describe_status(int status) {
    if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "wait status " + std::to_string(status);
}

struct RunResult {
    int exit_code = -1;  // -1: did not exit normally
    std::string output;  // stdout and stderr
};

// Runs a command to completion (at most 60 s), its output collected in `scratch`.
inline RunResult run(const std::vector<std::string>& argv, const std::filesystem::path& scratch) {
    std::filesystem::remove(scratch);
    pid_t pid = spawn(argv, scratch);
    auto st = wait_exit(pid, 60000);
    if (!st) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return {-1, "timed out after 60 s: " + read_file(scratch)};
    }
    return {WIFEXITED(*st) ? WEXITSTATUS(*st) : -1, read_file(scratch)};
}

// Executes SQL on the file with the C API (5 s busy timeout); returns "" or the error.
inline std::string sql_exec(const std::filesystem::path& db, const std::string& statement) {
    sqlite3* h = nullptr;
    std::string err;
    if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        err = h ? sqlite3_errmsg(h) : "cannot open";
    } else {
        sqlite3_busy_timeout(h, 5000);
        char* msg = nullptr;
        if (sqlite3_exec(h, statement.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
            err = msg ? msg : sqlite3_errmsg(h);
            sqlite3_free(msg);
        }
    }
    sqlite3_close(h);
    return err;
}

inline std::string sql_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += '\'';
        out += c;
    }
    return out + "'";
}

}  // namespace systest
