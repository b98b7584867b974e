// The test stage's sandbox: mount + PID namespaces, a read-only world, denied compilers, an
// init that catches leftover processes (sandbox.hpp).

#include "detail/sandbox.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "detail/fs.hpp"

namespace mip::detail {

namespace fs = std::filesystem;

namespace {

/// Programs that build code: a test must not be able to run one.
constexpr std::array<std::string_view, 22> compiler_names = {
    "gcc",   "g++",     "cc",  "c++",    "cpp",     "gfortran", "f77", "f95",
    "clang", "clang++", "ld",  "ld.bfd", "ld.gold", "ld.lld",   "as",  "mkoctfile",
    "mex",   "nvcc",    "icx", "icpx",   "ifort",   "tcc"};

/// Directories searched besides PATH (an engine may call its compilers by absolute path).
constexpr std::array<std::string_view, 4> compiler_dirs = {"/usr/bin", "/bin", "/usr/local/bin",
                                                           "/usr/lib/gcc"};

/// mountinfo escapes space, tab, newline and backslash as octal.
std::string unescape(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            const int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
            out += static_cast<char>(v);
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

unsigned long flags_of(const std::string& options) {
    unsigned long f = 0;
    std::stringstream ss(options);
    std::string o;
    while (std::getline(ss, o, ',')) {
        if (o == "nosuid") {
            f |= MS_NOSUID;
        } else if (o == "nodev") {
            f |= MS_NODEV;
        } else if (o == "noexec") {
            f |= MS_NOEXEC;
        } else if (o == "noatime") {
            f |= MS_NOATIME;
        } else if (o == "nodiratime") {
            f |= MS_NODIRATIME;
        } else if (o == "relatime") {
            f |= MS_RELATIME;
        } else if (o == "strictatime") {
            f |= MS_STRICTATIME;
        }
    }
    return f;
}

bool under(const std::string& path, const std::string& dir) {
    return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                           (dir == "/" || path[dir.size()] == '/'));
}

void add_denied(Sandbox& s, const fs::path& candidate) {
    std::error_code ec;
    if (!fs::is_regular_file(candidate, ec)) {
        return;
    }
    const auto real = fs::canonical(candidate, ec).string();
    if (!ec && std::find(s.deny.begin(), s.deny.end(), real) == s.deny.end()) {
        s.deny.push_back(real);
    }
}

// ---- after fork: async-signal-safe only ----

[[noreturn]] void fail(int status_fd) noexcept {
    const int e = errno;
    (void)!::write(status_fd, &e, sizeof e);
    ::_exit(127);
}

bool write_proc(const char* path, const std::string& text) noexcept {
    const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return ok;
}

void say(const char* text) noexcept {
    (void)!::write(2, text, std::char_traits<char>::length(text));
}

/// Waits for `pid`, reaping every other child meanwhile; returns its wait status.
int wait_for(pid_t pid) noexcept {
    int status = 0;
    for (;;) {
        int s = 0;
        const pid_t got = ::waitpid(-1, &s, 0);
        if (got == pid) {
            return s;
        }
        if (got < 0 && errno != EINTR) {
            return status;
        }
    }
}

int exit_code_of(int status) noexcept {
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
}

/// PID 1 of the new namespace: runs the engine as its child, then fails if anything remains.
[[noreturn]] void run_init(pid_t engine) noexcept {
    const int status = wait_for(engine);
    if (::kill(-1, 0) == 0) {
        say("\nmip-test: error: the test left processes behind (killed when the engine exited)\n");
        ::kill(-1, SIGKILL);
        while (::waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
        }
        ::_exit(leftover_exit_code);
    }
    ::_exit(exit_code_of(status));
}

}  // namespace

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): documented order, one is a PATH
Sandbox make_sandbox(const std::string& writable, const std::string& path_value) {
    Sandbox s;
    s.writable = writable;
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string id, parent, dev, root, mount_point, options;
        fields >> id >> parent >> dev >> root >> mount_point >> options;
        mount_point = unescape(mount_point);
        if (mount_point.empty() || under(mount_point, "/proc") || under(mount_point, "/sys") ||
            under(mount_point, "/dev") || under(mount_point, writable)) {
            continue;
        }
        s.readonly.push_back(mount_point);
        s.ro_flags.push_back(flags_of(options));
    }
    std::stringstream dirs(path_value);
    std::string dir;
    std::vector<std::string> search;
    while (std::getline(dirs, dir, ':')) {
        if (!dir.empty()) {
            search.push_back(dir);
        }
    }
    for (auto d : compiler_dirs) {
        search.emplace_back(d);
    }
    for (const auto& d : search) {
        for (auto name : compiler_names) {
            add_denied(s, fs::path(d) / name);
        }
    }
    // Versioned drivers (gcc-12, x86_64-linux-gnu-g++-12, mkoctfile-7.3.0) and cc1 & co.
    for (const char* d : {"/usr/bin", "/usr/local/bin"}) {
        std::error_code ec;
        for (fs::directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec)) {
            const auto name = it->path().filename().string();
            const bool tool = name.size() > 3 && (name.compare(name.size() - 3, 3, "-ld") == 0 ||
                                                  name.compare(name.size() - 3, 3, "-as") == 0);
            for (auto c : {"gcc-", "g++-", "gfortran-", "clang-", "mkoctfile-", "-ld."}) {
                if (tool || name.find(c) != std::string::npos) {
                    add_denied(s, it->path());
                    break;
                }
            }
        }
    }
    const auto uid = std::to_string(::getuid());
    const auto gid = std::to_string(::getgid());
    s.uid_map = uid + " " + uid + " 1\n";
    s.gid_map = gid + " " + gid + " 1\n";
    return s;
}

void enter_sandbox(const Sandbox& s, int status_fd) noexcept {
    if (::unshare(CLONE_NEWNS | CLONE_NEWPID) != 0) {
        // Not root: a user namespace gives this process the rights over its own mounts.
        if (::unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) != 0 ||
            !write_proc("/proc/self/setgroups", "deny") ||
            !write_proc("/proc/self/uid_map", s.uid_map) ||
            !write_proc("/proc/self/gid_map", s.gid_map)) {
            fail(status_fd);
        }
    }
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount(s.writable.c_str(), s.writable.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
        fail(status_fd);
    }
    for (const auto& path : s.deny) {
        (void)::mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr);
    }
    for (std::size_t i = 0; i < s.readonly.size(); ++i) {
        // A mount that refuses (e.g. a locked one in a user namespace) stays as it is.
        (void)::mount(nullptr, s.readonly[i].c_str(), nullptr,
                      MS_REMOUNT | MS_BIND | MS_RDONLY | s.ro_flags[i], nullptr);
    }
    const pid_t init = ::fork();  // PID 1 of the new namespace
    if (init < 0) {
        fail(status_fd);
    }
    if (init > 0) {  // outside the namespace: relay init's status
        ::close(status_fd);
        ::_exit(exit_code_of(wait_for(init)));
    }
    (void)::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
    const pid_t engine = ::fork();
    if (engine < 0) {
        fail(status_fd);
    }
    if (engine == 0) {
        return;  // the engine: the caller drops privileges and execs
    }
    ::close(status_fd);
    run_init(engine);
}

}  // namespace mip::detail
