#pragma once
// Private: the one owner of a POSIX file descriptor.

#include <cerrno>
#include <system_error>
#include <utility>

#include <unistd.h>

namespace mip::detail {

/// An owned file descriptor (or none: -1), closed when the owner goes. Move-only.
///
/// The destructor ignores close(2)'s result; where a delayed write error matters (a file just
/// written), call `close()` and check what it returns.
class UniqueFd {
public:
    UniqueFd() noexcept = default;
    /// Takes ownership of `fd` (a negative value: none, e.g. a failed open(2)).
    explicit UniqueFd(int fd) noexcept : fd_(fd < 0 ? -1 : fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    [[nodiscard]] int get() const noexcept { return fd_; }
    [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }

    /// Gives up ownership: the caller closes what this returns.
    [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

    /// Closes the descriptor held (errors ignored) and takes `fd` instead.
    void reset(int fd = -1) noexcept {
        const int old = std::exchange(fd_, fd < 0 ? -1 : fd);
        if (old >= 0) {
            (void)::close(old);
        }
    }

    /// Closes now and reports close(2)'s error (none when nothing was held). The descriptor is
    /// released either way: it must not be closed twice.
    [[nodiscard]] std::error_code close() noexcept {
        const int old = std::exchange(fd_, -1);
        if (old >= 0 && ::close(old) != 0) {
            return {errno, std::generic_category()};
        }
        return {};
    }

private:
    int fd_ = -1;
};

}  // namespace mip::detail
