#include "detail/build_dir_lock.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <string>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <mip/error.hpp>

#include "detail/fs.hpp"

namespace mip::detail {

namespace {

std::string holder_of(int fd) {
    char buffer[32] = {};
    const auto n = ::pread(fd, buffer, sizeof buffer - 1, 0);
    std::string pid = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) {
        pid.pop_back();
    }
    return pid.empty() ? std::string("an unknown process") : "pid " + pid;
}

/// Whether the pid recorded in the lock names a process that has exited.
bool holder_exited(int fd) {
    char buffer[32] = {};
    const auto n = ::pread(fd, buffer, sizeof buffer - 1, 0);
    long pid = 0;
    for (ssize_t i = 0; i < n && buffer[i] >= '0' && buffer[i] <= '9'; ++i) {
        pid = pid * 10 + (buffer[i] - '0');
    }
    return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

/// A run killed (SIGKILL) while one of its threads had just forked a child leaves that child
/// holding the lock until it reaches exec (the descriptor is close-on-exec): microseconds, more
/// on a loaded machine. When the recorded holder has exited, wait a little for that child.
bool lock_after_dead_holder(int fd) {
    constexpr auto step = std::chrono::milliseconds(20);
    constexpr int attempts = 250;  // 5 s
    for (int i = 0; i < attempts && holder_exited(fd); ++i) {
        std::this_thread::sleep_for(step);
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
            return true;
        }
    }
    return false;
}

}  // namespace

BuildDirLock::BuildDirLock(const std::filesystem::path& build_dir) {
    create_dirs(build_dir);
    const auto path = build_dir / ".mip-build.lock";
    fd_ = UniqueFd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd_.valid()) {
        throw IoError("cannot open the build directory's lock", path.string(),
                      {errno, std::generic_category()});
    }
    if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        if (e != EWOULDBLOCK) {
            throw IoError("cannot lock the build directory", path.string(),
                          {e, std::generic_category()});
        }
        if (!lock_after_dead_holder(fd_.get())) {
            const std::string who =
                holder_exited(fd_.get())
                    ? "a leftover child process of " + holder_of(fd_.get()) + ", which has exited"
                    : holder_of(fd_.get()) + " (another mip-build run)";
            throw IoError(build_dir.string() + " is in use by " + who +
                              "; wait for it or use another --build-dir",
                          path.string(), {EBUSY, std::generic_category()});
        }
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_.get(), 0) != 0 ||
        ::pwrite(fd_.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        throw IoError("cannot write the build directory's lock", path.string(),
                      {errno, std::generic_category()});
    }
}

}  // namespace mip::detail
