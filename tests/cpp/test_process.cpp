// detail::run_process (real child processes: exit codes, pipes, environment, cwd, log file,
// process-group timeouts) and detail::run_parallel (real threads).

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mip/error.hpp>

#include "detail/parallel.hpp"
#include "detail/process.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using mip::detail::ProcessOptions;
using mip::detail::ProcessResult;
using mip::detail::run_process;
using mip::test::TempDir;

namespace {

const std::string system_path = "/usr/bin:/bin";

ProcessOptions sh(const std::string& script) {
    ProcessOptions o;
    o.argv = {"sh", "-c", script};
    o.env = {{"PATH", system_path}};
    return o;
}

/// True once `pid` has exited (or no longer exists). A process killed with SIGKILL whose parent
/// died is reparented; it may stay a zombie until PID 1 reaps it, which still counts as gone.
/// pidfd readiness is the kernel's exit notification, so no polling loop or sleep is needed; the
/// bound only turns a surviving process into a failure instead of a hang.
bool process_gone(pid_t pid) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
        return true;
    }
    auto fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) {
        if (errno != ENOSYS) {
            return errno == ESRCH;
        }
        // Kernels before 5.3: a killed process is at least a zombie by now (its pipe closed).
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        if (!std::getline(stat, line)) {
            return true;
        }
        auto paren = line.rfind(')');
        return paren != std::string::npos && paren + 2 < line.size() &&
               (line[paren + 2] == 'Z' || line[paren + 2] == 'X');
    }
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, 30000);
    ::close(fd);
    return ready == 1 && (p.revents & POLLIN) != 0;
}

/// Processes whose environment holds `entry` ("NAME=value"), read from /proc. A process that
/// has exited but not been reaped (a zombie) has no environment left and is not listed.
std::vector<pid_t> processes_with_env(const std::string& entry) {
    std::vector<pid_t> found;
    for (const auto& dir : fs::directory_iterator("/proc")) {
        const std::string name = dir.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::ifstream environ_file(dir.path() / "environ", std::ios::binary);
        std::string variable;
        while (std::getline(environ_file, variable, '\0')) {
            if (variable == entry) {
                found.push_back(static_cast<pid_t>(std::stol(name)));
                break;
            }
        }
    }
    return found;
}

pid_t first_line_pid(const std::string& output) {
    auto nl = output.find('\n');
    REQUIRE(nl != std::string::npos);
    return static_cast<pid_t>(std::stol(output.substr(0, nl)));
}

}  // namespace

TEST_CASE("run_process returns the child's exit status", "[process]") {
    auto code = GENERATE(0, 1, 3, 42, 255);
    auto r = run_process(sh("exit " + std::to_string(code)));
    CHECK(r.exit_code == code);
    CHECK(r.signal == 0);
    CHECK_FALSE(r.timed_out);
    CHECK(r.ok() == (code == 0));
    CHECK(r.status_text() == "exit status " + std::to_string(code));
}

TEST_CASE("a child killed by a signal reports the signal, not an exit status", "[process]") {
    auto r = run_process(sh("kill -KILL $$"));
    CHECK(r.exit_code == -1);
    CHECK(r.signal == SIGKILL);
    CHECK_FALSE(r.ok());
    CHECK(r.status_text().find("killed by signal 9") != std::string::npos);
}

TEST_CASE("stdout and stderr share one capture unless separated", "[process]") {
    SECTION("together, in write order") {
        auto r = run_process(sh("printf out1; printf err1 >&2; printf out2"));
        REQUIRE(r.ok());
        CHECK(r.output == "out1err1out2");
        CHECK(r.err.empty());
    }
    SECTION("separate_stderr puts stderr in err") {
        auto o = sh("printf 'out\\n'; printf 'err\\n' >&2");
        o.separate_stderr = true;
        auto r = run_process(o);
        REQUIRE(r.ok());
        CHECK(r.output == "out\n");
        CHECK(r.err == "err\n");
    }
}

TEST_CASE("arguments reach the child verbatim, without a shell", "[process]") {
    ProcessOptions o;
    o.argv = {"printf", "[%s]", "a b", "'q'", "", "$HOME", "*"};
    o.env = {{"PATH", system_path}};
    auto r = run_process(o);
    REQUIRE(r.ok());
    CHECK(r.output == "[a b]['q'][][$HOME][*]");
}

TEST_CASE("stdin_data is fed to the child's stdin, which is /dev/null otherwise", "[process]") {
    SECTION("bytes including NUL and no final newline") {
        ProcessOptions o;
        o.argv = {"cat"};
        o.env = {{"PATH", system_path}};
        o.stdin_data = std::string("line1\nline2\0binary\xff", 19);
        auto r = run_process(o);
        REQUIRE(r.ok());
        CHECK(r.output == o.stdin_data);
    }
    SECTION("larger than a pipe buffer") {
        ProcessOptions o;
        o.argv = {"cat"};
        o.env = {{"PATH", system_path}};
        for (int i = 0; i < 100000; ++i) {
            o.stdin_data += std::to_string(i) + "\n";
        }
        o.capture_limit = o.stdin_data.size();
        auto r = run_process(o);
        REQUIRE(r.ok());
        CHECK(r.output == o.stdin_data);
    }
    SECTION("empty stdin_data: reading stdin sees end of file at once") {
        auto r = run_process(sh("cat; echo end"));
        REQUIRE(r.ok());
        CHECK(r.output == "end\n");
    }
}

// Regression: the parent's end of the stdin pipe must not block. poll() reports POLLOUT as soon
// as one pipe slot is free; a blocking write of up to 64 KiB would then wait for the rest while
// the child waits on its stdout (which the parent no longer drains), and both hang forever.
// The check runs in a forked helper under alarm() so that the deadlock fails the test instead of
// hanging the suite.
TEST_CASE("a child that writes much output while reading stdin does not deadlock", "[process]") {
    std::string line(99, 'y');
    line += '\n';
    std::string input;
    for (int i = 0; i < 2000; ++i) {
        input += line;  // 200 kB: more than a pipe holds
    }
    pid_t helper = ::fork();
    REQUIRE(helper >= 0);
    if (helper == 0) {
        ::alarm(30);  // a hang guard only: a correct run takes well under a second
        int code = 1;
        try {
            ProcessOptions o;
            o.argv = {"awk", "{ for (i = 0; i < 200; i++) print $0 }"};
            o.env = {{"PATH", system_path}};
            o.stdin_data = input;
            o.capture_limit = 1 << 16;
            auto r = run_process(o);
            std::string expected_tail;
            while (expected_tail.size() < o.capture_limit) {
                expected_tail += line;
            }
            expected_tail = expected_tail.substr(expected_tail.size() - o.capture_limit);
            code = r.ok() && r.output == expected_tail ? 0 : 2;
        } catch (...) {
            code = 3;
        }
        ::_exit(code);
    }
    int status = 0;
    REQUIRE(::waitpid(helper, &status, 0) == helper);
    bool exited = WIFEXITED(status);
    int exit_code = exited ? WEXITSTATUS(status) : -1;
    int killed_by = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    INFO("helper exit " << exit_code << ", signal " << killed_by << " (SIGALRM = deadlock)");
    CHECK(killed_by != SIGALRM);
    CHECK(exit_code == 0);
}

TEST_CASE("the child's environment is exactly the one passed", "[process]") {
    auto host = mip::test::environment();
    REQUIRE_FALSE(host.empty());  // this process has variables the child must not see
    ProcessOptions o;
    o.argv = {"env"};
    o.env = {{"PATH", system_path}, {"MIP_A", "1 2 = 3"}, {"EMPTY", ""}};
    auto r = run_process(o);
    REQUIRE(r.ok());
    CHECK(r.output == "EMPTY=\nMIP_A=1 2 = 3\nPATH=/usr/bin:/bin\n");

    SECTION("an empty environment gives the child none") {
        o.env.clear();
        auto empty = run_process(o);
        REQUIRE(empty.ok());
        CHECK(empty.output.empty());
    }
}

TEST_CASE("argv[0] is looked up on the child's PATH", "[process]") {
    TempDir tmp;
    mip::test::write_file(tmp / "bin" / "mip-test-tool", "#!/bin/sh\necho \"mine $#\"\n", true);
    ProcessOptions o;
    o.argv = {"mip-test-tool", "x", "y"};
    o.env = {{"PATH", (tmp / "bin").string() + ":" + system_path}};
    auto r = run_process(o);
    REQUIRE(r.ok());
    CHECK(r.output == "mine 2\n");

    o.env = {{"PATH", system_path}};
    REQUIRE_THROWS_AS(run_process(o), mip::IoError);
}

TEST_CASE("cwd sets the child's working directory", "[process]") {
    TempDir tmp;
    fs::create_directories(tmp / "work dir");
    auto o = sh("pwd -P");
    o.cwd = tmp / "work dir";
    auto r = run_process(o);
    REQUIRE(r.ok());
    CHECK(r.output == fs::canonical(tmp / "work dir").string() + "\n");

    SECTION("a missing cwd is an IoError, not a child exit status") {
        o.cwd = tmp / "missing";
        REQUIRE_THROWS_AS(run_process(o), mip::IoError);
    }
}

TEST_CASE("log_file receives the child's output, appended", "[process]") {
    TempDir tmp;
    auto log = tmp / "run.log";
    mip::test::write_file(log, "old\n");
    SECTION("merged streams") {
        auto o = sh("echo out; echo err >&2; exit 4");
        o.log_file = log;
        auto r = run_process(o);
        CHECK(r.exit_code == 4);
        CHECK(r.output == "out\nerr\n");
        CHECK(mip::test::read_file(log) == "old\nout\nerr\n");
    }
    SECTION("separate streams both reach the log") {
        auto o = sh("echo out; echo err >&2");
        o.log_file = log;
        o.separate_stderr = true;
        auto r = run_process(o);
        REQUIRE(r.ok());
        CHECK(r.output == "out\n");
        CHECK(r.err == "err\n");
        auto text = mip::test::read_file(log);
        CHECK(text.rfind("old\n", 0) == 0);
        CHECK(text.size() == std::string("old\nout\nerr\n").size());
        CHECK(text.find("out\n") != std::string::npos);
        CHECK(text.find("err\n") != std::string::npos);
    }
    SECTION("a log file that cannot be opened is an IoError") {
        auto o = sh("echo out");
        o.log_file = tmp / "no such dir" / "run.log";
        REQUIRE_THROWS_AS(run_process(o), mip::IoError);
        CHECK_FALSE(fs::exists(tmp / "no such dir"));
    }
}

TEST_CASE("capture_limit keeps the trailing bytes of the output", "[process]") {
    std::string full;
    for (int i = 0; i < 5000; ++i) {
        full += std::to_string(i) + "\n";
    }
    auto o = sh("i=0; while [ $i -lt 5000 ]; do echo $i; i=$((i+1)); done");
    o.capture_limit = 100;
    auto r = run_process(o);
    REQUIRE(r.ok());
    CHECK(r.output == full.substr(full.size() - 100));
}

TEST_CASE("a timeout kills the whole process group", "[process]") {
    // The shell starts a background sleep, then both sleep. On a loaded machine the timeout may
    // come before the shell has even started the background sleep, so nothing here depends on
    // how far it got: whatever the run started carries a marker variable, and none of it may
    // survive.
    const std::string marker = "run-" + std::to_string(::getpid()) + "-timeout";
    auto o = sh("sleep 60 & sleep 60");
    o.env["MIP_TEST_RUN_MARKER"] = marker;
    o.timeout = std::chrono::seconds(1);
    auto r = run_process(o);
    CHECK(r.timed_out);
    CHECK_FALSE(r.ok());
    CHECK(r.signal == SIGKILL);
    CHECK(r.status_text().find("timed out") != std::string::npos);
    for (const pid_t pid : processes_with_env("MIP_TEST_RUN_MARKER=" + marker)) {
        INFO("process " << pid << " of the timed-out run");
        CHECK(process_gone(pid));
    }
}

TEST_CASE("run_process returns when the child exits even if a background member holds the pipe",
          "[process]") {
    // The background subshell keeps stdout open; were it not ended with the group, run_process
    // would wait for it and capture "late".
    auto r = run_process(sh("(sleep 30; echo late) & echo $!; exit 7"));
    CHECK(r.exit_code == 7);
    CHECK_FALSE(r.timed_out);
    CHECK(r.output.find("late") == std::string::npos);
    auto grandchild = first_line_pid(r.output);
    CHECK(process_gone(grandchild));
}

TEST_CASE("setting cancel kills the whole process group", "[process]") {
    TempDir tmp;
    auto fifo = tmp / "ready";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    std::atomic<bool> cancel{false};
    std::string reported;
    // Sets `cancel` once the child has started its background member and reported its pid.
    std::thread watcher([&]() {
        std::ifstream in(fifo);  // blocks until the child opens the FIFO for writing
        std::getline(in, reported);
        cancel = true;
    });
    auto o = sh("sleep 60 & echo $! > ready; sleep 60");
    o.cwd = tmp.path();
    o.cancel = &cancel;
    auto r = run_process(o);
    // Unblock the watcher in case the child never opened the FIFO (no reader: ENXIO, ignored).
    int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) {
        ::close(fd);
    }
    watcher.join();
    CHECK(r.cancelled);
    CHECK_FALSE(r.timed_out);
    CHECK_FALSE(r.ok());
    CHECK(r.signal == SIGKILL);
    CHECK(r.status_text() == "cancelled");
    REQUIRE_FALSE(reported.empty());
    CHECK(process_gone(static_cast<pid_t>(std::stol(reported))));
}

TEST_CASE("a program that cannot be started is an IoError", "[process]") {
    TempDir tmp;
    SECTION("not on PATH") {
        ProcessOptions o;
        o.argv = {"mip-no-such-program-xyz"};
        o.env = {{"PATH", system_path}};
        try {
            (void)run_process(o);
            FAIL("no exception");
        } catch (const mip::IoError& e) {
            CHECK(std::string(e.what()).find("mip-no-such-program-xyz") != std::string::npos);
            CHECK(e.code() == mip::ErrorCode::io);
        }
    }
    SECTION("an absolute path that does not exist") {
        ProcessOptions o;
        o.argv = {(tmp / "nope").string()};
        REQUIRE_THROWS_AS(run_process(o), mip::IoError);
    }
    SECTION("a file without the exec bit") {
        mip::test::write_file(tmp / "script", "#!/bin/sh\necho hi\n", false);
        ProcessOptions o;
        o.argv = {(tmp / "script").string()};
        REQUIRE_THROWS_AS(run_process(o), mip::IoError);
    }
    SECTION("an executable the kernel refuses (exec fails after fork)") {
        mip::test::write_file(tmp / "garbage", "\177ELF garbage", true);
        ProcessOptions o;
        o.argv = {(tmp / "garbage").string()};
        try {
            (void)run_process(o);
            FAIL("no exception");
        } catch (const mip::IoError& e) {
            CHECK(e.error_code() == std::errc::executable_format_error);
        }
    }
    SECTION("an empty argv") {
        ProcessOptions o;
        REQUIRE_THROWS_AS(run_process(o), mip::Error);
    }
}

TEST_CASE("find_executable searches a PATH string for an executable regular file", "[process]") {
    TempDir tmp;
    mip::test::write_file(tmp / "d1" / "tool", "not executable\n", false);
    fs::create_directories(tmp / "d2" / "tool");  // a directory is not a program
    mip::test::write_file(tmp / "d3" / "tool", "#!/bin/sh\n", true);
    mip::test::write_file(tmp / "d4" / "tool", "#!/bin/sh\n", true);
    auto path = (tmp / "d1").string() + ":" + (tmp / "d2").string() + ":" + (tmp / "d3").string() +
                ":" + (tmp / "d4").string();
    auto found = mip::detail::find_executable("tool", path);
    REQUIRE(found);
    CHECK(*found == tmp / "d3" / "tool");

    CHECK_FALSE(mip::detail::find_executable("tool", (tmp / "d1").string()));
    CHECK_FALSE(mip::detail::find_executable("absent", path));
    CHECK_FALSE(mip::detail::find_executable("", path));
    // A name with a slash is used as is, not searched.
    auto direct = mip::detail::find_executable((tmp / "d4" / "tool").string(), "");
    REQUIRE(direct);
    CHECK(*direct == tmp / "d4" / "tool");
    CHECK_FALSE(mip::detail::find_executable((tmp / "d1" / "tool").string(), path));
}

TEST_CASE("tail_lines keeps the last lines", "[process]") {
    using mip::detail::tail_lines;
    CHECK(tail_lines("a\nb\nc\n", 2) == "b\nc\n");
    CHECK(tail_lines("a\nb\nc", 2) == "b\nc");
    CHECK(tail_lines("a\nb\nc\n", 1) == "c\n");
    CHECK(tail_lines("a\nb\nc\n", 3) == "a\nb\nc\n");
    CHECK(tail_lines("a\nb\nc\n", 10) == "a\nb\nc\n");
    CHECK(tail_lines("one line", 1) == "one line");
    CHECK(tail_lines("a\nb\n", 0).empty());
    CHECK(tail_lines("", 5).empty());
}

// --- run_parallel ---

namespace {
struct TickStop : std::runtime_error {
    using std::runtime_error::runtime_error;
};
}  // namespace

TEST_CASE("run_parallel runs every index exactly once", "[process][parallel]") {
    auto jobs = GENERATE(1U, 4U);
    auto n = GENERATE(std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{200});
    INFO("jobs " << jobs << ", n " << n);
    std::vector<std::atomic<int>> runs(n);
    std::atomic<std::size_t> out_of_range{0};
    std::vector<std::thread::id> tick_threads;
    auto work = [&](std::size_t i) {
        if (i >= n) {
            ++out_of_range;
        } else {
            ++runs[i];
        }
        return true;
    };
    auto tick = [&]() { tick_threads.push_back(std::this_thread::get_id()); };
    mip::detail::run_parallel(n, {.jobs = jobs, .tick_interval = std::chrono::milliseconds(0)},
                              work, tick);
    CHECK(out_of_range == 0);
    for (std::size_t i = 0; i < n; ++i) {
        INFO("index " << i);
        CHECK(runs[i] == 1);
    }
    REQUIRE_FALSE(tick_threads.empty());  // at least the final tick
    for (const auto& id : tick_threads) {
        CHECK(id == std::this_thread::get_id());
    }
}

TEST_CASE("run_parallel stops scheduling after work returns false", "[process][parallel]") {
    SECTION("one job: nothing after the failing index runs") {
        std::vector<int> runs(20, 0);
        int ticks = 0;
        auto work = [&](std::size_t i) {
            ++runs[i];
            return i != 3;
        };
        mip::detail::run_parallel(runs.size(),
                                  {.jobs = 1, .tick_interval = std::chrono::milliseconds(0)}, work,
                                  [&]() { ++ticks; });
        CHECK(runs == std::vector<int>{1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        CHECK(ticks >= 1);
    }
    SECTION("four jobs: each worker stops after its first failure") {
        std::vector<std::atomic<int>> runs(1000);
        auto work = [&](std::size_t i) {
            ++runs[i];
            return false;
        };
        mip::detail::run_parallel(runs.size(), {.jobs = 4}, work, {});
        int total = 0;
        for (auto& r : runs) {
            CHECK(r <= 1);
            total += r;
        }
        CHECK(total >= 1);
        CHECK(total <= 4);
    }
}

TEST_CASE("an exception from tick propagates unchanged", "[process][parallel]") {
    SECTION("one job") {
        std::vector<int> runs(5, 0);
        auto work = [&](std::size_t i) {
            ++runs[i];
            return true;
        };
        auto tick = []() { throw TickStop("stop from tick"); };
        REQUIRE_THROWS_MATCHES(mip::detail::run_parallel(runs.size(), {.jobs = 1}, work, tick),
                               TickStop, Catch::Message("stop from tick"));
        for (int r : runs) {
            CHECK(r <= 1);
        }
    }
    SECTION("four jobs: workers wait until the tick has run, then the run stops") {
        std::promise<void> ticked;
        std::shared_future<void> ticked_future = ticked.get_future().share();
        std::once_flag once;
        std::vector<std::atomic<int>> runs(64);
        const auto caller = std::this_thread::get_id();
        std::atomic<bool> tick_on_caller{true};
        auto work = [&](std::size_t i) {
            ticked_future.wait();
            ++runs[i];
            return true;
        };
        auto tick = [&]() {
            if (std::this_thread::get_id() != caller) {
                tick_on_caller = false;
            }
            std::call_once(once, [&]() { ticked.set_value(); });
            throw TickStop("cancelled by tick");
        };
        REQUIRE_THROWS_MATCHES(mip::detail::run_parallel(runs.size(), {.jobs = 4}, work, tick),
                               TickStop, Catch::Message("cancelled by tick"));
        CHECK(tick_on_caller);
        for (auto& r : runs) {
            CHECK(r <= 1);
        }
    }
}

TEST_CASE("a throwing tick sets cancel, which ends the running children", "[process][parallel]") {
    auto jobs = GENERATE(1U, 3U);
    INFO("jobs " << jobs);
    std::atomic<bool> cancel{false};
    std::atomic<bool> started{false};
    std::vector<std::atomic<int>> outcome(3);  // 0 = not run, 1 = cancelled, 2 = ran to the end
    auto work = [&](std::size_t i) {
        auto o = sh("sleep 60");
        o.cancel = &cancel;
        started = true;
        auto r = run_process(o);
        outcome[i] = r.cancelled ? 1 : 2;
        return true;
    };
    // Ticks run on this thread while the work runs on workers, even with one job; the first tick
    // after a child has started throws.
    auto tick = [&]() {
        if (started) {
            throw TickStop("interrupted");
        }
    };
    mip::detail::ParallelOptions po;
    po.jobs = jobs;
    po.tick_interval = std::chrono::milliseconds(20);
    po.cancel = &cancel;
    REQUIRE_THROWS_MATCHES(mip::detail::run_parallel(outcome.size(), po, work, tick), TickStop,
                           Catch::Message("interrupted"));
    CHECK(cancel);
    int cancelled = 0;
    for (auto& o : outcome) {
        CHECK(o != 2);
        cancelled += o == 1 ? 1 : 0;
    }
    CHECK(cancelled >= 1);
}
