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

ProcessResult run_process(const ProcessOptions& options) {
    if (options.argv.empty()) {
        throw Error(ErrorCode::internal, "run_process: empty argv");
    }
    // Everything the child needs is prepared before fork (no allocation after fork).
    auto path_it = options.env.find("PATH");
    std::string path_value = path_it != options.env.end() ? path_it->second : "/usr/bin:/bin";
    auto exe = find_executable(options.argv[0], path_value);
    if (!exe) {
        throw IoError("program not found on PATH (" + path_value + ")", options.argv[0],
                      {ENOENT, std::generic_category()});
    }
    std::string exe_str = exe->string();
    std::vector<std::string> env_strings;
    env_strings.reserve(options.env.size());
    for (const auto& [k, v] : options.env) {
        env_strings.push_back(k + "=" + v);
    }
    std::vector<char*> argv;
    for (const auto& a : options.argv) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env_strings) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    std::string cwd = options.cwd.string();

    std::ofstream log;
    if (options.log_file) {
        log.open(*options.log_file, std::ios::binary | std::ios::app);
        if (!log) {
            throw IoError("cannot open log file", options.log_file->string());
        }
    }

    Pipe out;
    Pipe err;
    Pipe in;
    Pipe exec_status;
    auto start = std::chrono::steady_clock::now();
    pid_t pid = ::fork();
    if (pid < 0) {
        throw IoError("cannot fork", options.argv[0], {errno, std::generic_category()});
    }
    if (pid == 0) {
        ::setpgid(0, 0);
        ::signal(SIGPIPE, SIG_DFL);
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
            int e = errno;
            (void)!::write(exec_status.fds[1], &e, sizeof e);
            ::_exit(127);
        }
        if (options.stdin_data.empty()) {
            int devnull = ::open("/dev/null", O_RDONLY);
            ::dup2(devnull, 0);
        } else {
            ::dup2(in.fds[0], 0);
        }
        ::dup2(out.fds[1], 1);
        ::dup2(options.separate_stderr ? err.fds[1] : out.fds[1], 2);
        drop_privileges_before_exec();  // no ptrace of its ancestors, even as root
        ::execve(exe_str.c_str(), argv.data(), envp.data());
        int e = errno;
        (void)!::write(exec_status.fds[1], &e, sizeof e);
        ::_exit(127);
    }
    ::setpgid(pid, pid);
    out.close_write();
    err.close_write();
    in.close_read();
    exec_status.close_write();
    int exec_errno = 0;
    if (::read(exec_status.fds[0], &exec_errno, sizeof exec_errno) == sizeof exec_errno) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        throw IoError("cannot start program", options.argv[0],
                      {exec_errno, std::generic_category()});
    }

    ProcessResult result;
    std::size_t stdin_off = 0;
    if (options.stdin_data.empty()) {
        in.close_write();
    } else {
        ::fcntl(in.fds[1], F_SETFL, ::fcntl(in.fds[1], F_GETFL) | O_NONBLOCK);
    }
    bool exited = false;
    int status = 0;
    char buffer[65536];
    const auto deadline = start + options.timeout;
    while (true) {
        pollfd fds[3];
        nfds_t n = 0;
        int out_idx = -1;
        int err_idx = -1;
        int in_idx = -1;
        if (out.fds[0] >= 0) {
            fds[n] = {out.fds[0], POLLIN, 0};
            out_idx = static_cast<int>(n++);
        }
        if (err.fds[0] >= 0 && options.separate_stderr) {
            fds[n] = {err.fds[0], POLLIN, 0};
            err_idx = static_cast<int>(n++);
        }
        if (in.fds[1] >= 0) {
            fds[n] = {in.fds[1], POLLOUT, 0};
            in_idx = static_cast<int>(n++);
        }
        if (n == 0) {
            break;
        }
        int wait_ms = 200;
        if (options.cancel != nullptr && !result.cancelled && options.cancel->load()) {
            result.cancelled = true;
            ::kill(-pid, SIGKILL);
        }
        if (options.timeout.count() > 0 && !result.timed_out) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                result.timed_out = true;
                ::kill(-pid, SIGKILL);
                wait_ms = 50;
            } else {
                wait_ms = static_cast<int>(std::min<long long>(left.count(), 200));
            }
        }
        int r = ::poll(fds, n, wait_ms);
        if (r < 0 && errno != EINTR) {
            break;
        }
        auto drain = [&](int idx, Pipe& p, std::string& sink) {
            if (idx < 0 || (fds[idx].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
                return;
            }
            auto got = ::read(p.fds[0], buffer, sizeof buffer);
            if (got > 0) {
                auto g = static_cast<std::size_t>(got);
                append_capped(sink, buffer, g, options.capture_limit);
                if (log.is_open()) {
                    log.write(buffer, got);
                    log.flush();
                }
            } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                p.close_read();
            }
        };
        drain(out_idx, out, result.output);
        drain(err_idx, err, result.err);
        if (in_idx >= 0 && (fds[in_idx].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
            auto w = ::write(in.fds[1], options.stdin_data.data() + stdin_off,
                             std::min<std::size_t>(options.stdin_data.size() - stdin_off, 65536));
            if (w > 0) {
                stdin_off += static_cast<std::size_t>(w);
            }
            bool would_block = w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
            if ((w < 0 && !would_block) || stdin_off >= options.stdin_data.size()) {
                in.close_write();
            }
        }
        if (!exited && ::waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
            // Leftover members of the group would hold our pipes open: end them.
            ::kill(-pid, SIGKILL);
        }
    }
    if (!exited) {
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        ::kill(-pid, SIGKILL);
    }
    if (result.output.size() > options.capture_limit) {
        result.output.erase(0, result.output.size() - options.capture_limit);
    }
    if (result.err.size() > options.capture_limit) {
        result.err.erase(0, result.err.size() - options.capture_limit);
    }
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
