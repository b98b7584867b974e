#include "detail/process.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mip/error.hpp>

#include "detail/credentials.hpp"
#include "detail/sandbox.hpp"

namespace mip::detail {

namespace {

struct Pipe {
    int fds[2] = {-1, -1};
    Pipe() {
        if (::pipe2(fds, O_CLOEXEC) != 0) {
            throw IoError("cannot create pipe", "", {errno, std::generic_category()});
        }
    }
    ~Pipe() {
        close_read();
        close_write();
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    Pipe(Pipe&&) = delete;
    Pipe& operator=(Pipe&&) = delete;
    void close_read() {
        if (fds[0] >= 0) {
            ::close(fds[0]);
            fds[0] = -1;
        }
    }
    void close_write() {
        if (fds[1] >= 0) {
            ::close(fds[1]);
            fds[1] = -1;
        }
    }
};

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters)
void append_capped(std::string& buffer, const char* data, std::size_t n, std::size_t limit) {
    buffer.append(data, n);
    if (buffer.size() > limit * 2) {
        buffer.erase(0, buffer.size() - limit);
    }
}

}  // namespace

std::string ProcessResult::status_text() const {
    if (cancelled) {
        return "cancelled";
    }
    if (timed_out) {
        std::ostringstream s;
        s << "timed out after " << static_cast<long long>(seconds) << " s";
        return s.str();
    }
    if (signal != 0) {
        return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
    }
    return "exit status " + std::to_string(exit_code);
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): as which(1): a name, then the PATH
std::optional<std::filesystem::path> find_executable(const std::string& name,
                                                     const std::string& path_value) {
    if (name.empty()) {
        return std::nullopt;
    }
    if (name.find('/') != std::string::npos) {
        if (::access(name.c_str(), X_OK) == 0) {
            return std::filesystem::path(name);
        }
        return std::nullopt;
    }
    std::stringstream ss(path_value);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
        if (dir.empty()) {
            dir = ".";
        }
        auto candidate = std::filesystem::path(dir) / name;
        struct stat st {};
        if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            ::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
    }
    return std::nullopt;
}

std::string tail_lines(const std::string& text, std::size_t max_lines) {
    if (max_lines == 0) {
        return {};
    }
    std::size_t count = 0;
    std::size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') {
        --pos;
    }
    while (pos > 0) {
        auto nl = text.rfind('\n', pos - 1);
        if (nl == std::string::npos) {
            return text;
        }
        if (++count == max_lines) {
            return text.substr(nl + 1);
        }
        pos = nl;
    }
    return text;
}

namespace {

/// Everything the child needs, prepared before fork (no allocation after fork).
struct ChildArgs {
    std::string exe;
    std::vector<std::string> env_strings;
    std::vector<char*> argv;
    std::vector<char*> envp;
    std::string cwd;
};

ChildArgs child_args(const ProcessOptions& options) {
    auto path_it = options.env.find("PATH");
    std::string path_value = path_it != options.env.end() ? path_it->second : "/usr/bin:/bin";
    auto exe = find_executable(options.argv[0], path_value);
    if (!exe) {
        throw IoError("program not found on PATH (" + path_value + ")", options.argv[0],
                      {ENOENT, std::generic_category()});
    }
    ChildArgs c;
    c.exe = exe->string();
    c.env_strings.reserve(options.env.size());
    for (const auto& [k, v] : options.env) {
        c.env_strings.push_back(k);
        c.env_strings.back() += '=';
        c.env_strings.back() += v;
    }
    c.argv.reserve(options.argv.size() + 1);
    for (const auto& a : options.argv) {
        c.argv.push_back(const_cast<char*>(a.c_str()));
    }
    c.argv.push_back(nullptr);
    c.envp.reserve(c.env_strings.size() + 1);
    for (auto& e : c.env_strings) {
        c.envp.push_back(e.data());
    }
    c.envp.push_back(nullptr);
    c.cwd = options.cwd.string();
    return c;
}

/// The pipes between parent and child; `exec_status` carries the child's errno when chdir or
/// exec fails (it closes on a successful exec).
struct ChildPipes {
    Pipe out;
    Pipe err;
    Pipe in;
    Pipe exec_status;
};

/// In the forked child: its own process group, stdio onto the pipes, then exec. Never returns.
[[noreturn]] void exec_child(const ProcessOptions& options, ChildArgs& c, ChildPipes& p) {
    ::setpgid(0, 0);
    ::signal(SIGPIPE, SIG_DFL);
    if (!c.cwd.empty() && ::chdir(c.cwd.c_str()) != 0) {
        int e = errno;
        (void)!::write(p.exec_status.fds[1], &e, sizeof e);
        ::_exit(127);
    }
    if (options.stdin_data.empty()) {
        int devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
    } else {
        ::dup2(p.in.fds[0], 0);
    }
    ::dup2(p.out.fds[1], 1);
    ::dup2(options.separate_stderr ? p.err.fds[1] : p.out.fds[1], 2);
    if (options.sandbox != nullptr) {  // needs the privileges dropped next
        enter_sandbox(*options.sandbox, p.exec_status.fds[1]);
    }
    drop_privileges_before_exec();  // no ptrace of its ancestors, even as root
    ::execve(c.exe.c_str(), c.argv.data(), c.envp.data());
    int e = errno;
    (void)!::write(p.exec_status.fds[1], &e, sizeof e);
    ::_exit(127);
}

/// The parent's side while the child runs: feeds stdin, drains stdout/stderr into the result
/// (and the log), kills the group on timeout or cancellation, and reaps the child.
class ChildIo {
public:
    ChildIo(const ProcessOptions& options,
            pid_t pid,
            ChildPipes& pipes,
            std::ofstream& log,
            ProcessResult& result,
            std::chrono::steady_clock::time_point start)
        : options_(options),
          pid_(pid),
          p_(pipes),
          log_(log),
          result_(result),
          deadline_(start + options.timeout) {}

    /// Runs until both outputs are closed; returns the child's wait status.
    int run() {
        if (options_.stdin_data.empty()) {
            p_.in.close_write();
        } else {
            ::fcntl(p_.in.fds[1], F_SETFL, ::fcntl(p_.in.fds[1], F_GETFL) | O_NONBLOCK);
        }
        while (poll_once()) {
        }
        if (!exited_) {
            while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
            }
            ::kill(-pid_, SIGKILL);
        }
        return status_;
    }

private:
    /// How long to wait in poll; kills the group when cancelled or past the deadline.
    int wait_ms() {
        int ms = 200;
        if (options_.cancel != nullptr && !result_.cancelled && options_.cancel->load()) {
            result_.cancelled = true;
            ::kill(-pid_, SIGKILL);
        }
        if (options_.timeout.count() > 0 && !result_.timed_out) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline_ - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                result_.timed_out = true;
                ::kill(-pid_, SIGKILL);
                ms = 50;
            } else {
                ms = static_cast<int>(std::min<long long>(left.count(), 200));
            }
        }
        return ms;
    }

    void drain(const pollfd* fd, Pipe& pipe, std::string& sink) {
        if (fd == nullptr || (fd->revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
            return;
        }
        auto got = ::read(pipe.fds[0], buffer_, sizeof buffer_);
        if (got > 0) {
            append_capped(sink, buffer_, static_cast<std::size_t>(got), options_.capture_limit);
            if (log_.is_open()) {
                log_.write(buffer_, got);
                log_.flush();
            }
        } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
            pipe.close_read();
        }
    }

    void feed(const pollfd* fd) {
        if (fd == nullptr || (fd->revents & (POLLOUT | POLLERR | POLLHUP)) == 0) {
            return;
        }
        const auto& data = options_.stdin_data;
        auto w = ::write(p_.in.fds[1], data.data() + stdin_off_,
                         std::min<std::size_t>(data.size() - stdin_off_, 65536));
        if (w > 0) {
            stdin_off_ += static_cast<std::size_t>(w);
        }
        bool would_block = w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
        if ((w < 0 && !would_block) || stdin_off_ >= data.size()) {
            p_.in.close_write();
        }
    }

    /// One poll round; false once there is nothing left to poll.
    bool poll_once() {
        pollfd fds[3];
        nfds_t n = 0;
        auto add = [&](int fd, short events) {
            fds[n] = {fd, events, 0};
            return &fds[n++];
        };
        pollfd* out = p_.out.fds[0] >= 0 ? add(p_.out.fds[0], POLLIN) : nullptr;
        pollfd* err =
            p_.err.fds[0] >= 0 && options_.separate_stderr ? add(p_.err.fds[0], POLLIN) : nullptr;
        pollfd* in = p_.in.fds[1] >= 0 ? add(p_.in.fds[1], POLLOUT) : nullptr;
        if (n == 0) {
            return false;
        }
        const int ms = wait_ms();
        if (::poll(fds, n, ms) < 0 && errno != EINTR) {
            return false;
        }
        drain(out, p_.out, result_.output);
        drain(err, p_.err, result_.err);
        feed(in);
        if (!exited_ && ::waitpid(pid_, &status_, WNOHANG) == pid_) {
            exited_ = true;
            // Leftover members of the group would hold our pipes open: end them.
            ::kill(-pid_, SIGKILL);
        }
        return true;
    }

    const ProcessOptions& options_;
    pid_t pid_;
    ChildPipes& p_;
    std::ofstream& log_;
    ProcessResult& result_;
    std::chrono::steady_clock::time_point deadline_;
    std::size_t stdin_off_ = 0;
    bool exited_ = false;
    int status_ = 0;
    char buffer_[65536];
};

void trim_to_limit(std::string& text, std::size_t limit) {
    if (text.size() > limit) {
        text.erase(0, text.size() - limit);
    }
}

}  // namespace

ProcessResult run_process(const ProcessOptions& options) {
    if (options.argv.empty()) {
        throw Error(ErrorCode::internal, "run_process: empty argv");
    }
    ChildArgs child = child_args(options);
    std::ofstream log;
    if (options.log_file) {
        log.open(*options.log_file, std::ios::binary | std::ios::app);
        if (!log) {
            throw IoError("cannot open log file", options.log_file->string());
        }
    }

    ChildPipes pipes;
    auto start = std::chrono::steady_clock::now();
    pid_t pid = ::fork();
    if (pid < 0) {
        throw IoError("cannot fork", options.argv[0], {errno, std::generic_category()});
    }
    if (pid == 0) {
        exec_child(options, child, pipes);
    }
    ::setpgid(pid, pid);
    pipes.out.close_write();
    pipes.err.close_write();
    pipes.in.close_read();
    pipes.exec_status.close_write();
    int exec_errno = 0;
    if (::read(pipes.exec_status.fds[0], &exec_errno, sizeof exec_errno) == sizeof exec_errno) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        throw IoError("cannot start program", options.argv[0],
                      {exec_errno, std::generic_category()});
    }

    ProcessResult result;
    const int status = ChildIo(options, pid, pipes, log, result, start).run();
    trim_to_limit(result.output, options.capture_limit);
    trim_to_limit(result.err, options.capture_limit);
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.exit_code = -1;
        result.signal = WTERMSIG(status);
    }
    return result;
}

}  // namespace mip::detail
