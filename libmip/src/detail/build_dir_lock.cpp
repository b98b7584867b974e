#include "detail/build_dir_lock.hpp"

#include <cerrno>
#include <string>
#include <system_error>

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
        if (e == EWOULDBLOCK) {
            throw IoError(build_dir.string() + " is in use by " + holder_of(fd_.get()) +
                              " (another mip-build run); wait for it or use another --build-dir",
                          path.string(), {EBUSY, std::generic_category()});
        }
        throw IoError("cannot lock the build directory", path.string(),
                      {e, std::generic_category()});
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_.get(), 0) != 0 ||
        ::pwrite(fd_.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        throw IoError("cannot write the build directory's lock", path.string(),
                      {errno, std::generic_category()});
    }
}

}  // namespace mip::detail
