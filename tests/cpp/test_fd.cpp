// detail/fd: the one owner of a file descriptor, tested against the kernel's own view of which
// descriptors are open (fcntl F_GETFD).

#include <utility>

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <unistd.h>

#include "detail/fd.hpp"

using mip::detail::UniqueFd;

namespace {

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

int open_null() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

}  // namespace

TEST_CASE("UniqueFd closes its descriptor when it goes", "[fd]") {
    int raw = -1;
    {
        UniqueFd fd(open_null());
        raw = fd.get();
        REQUIRE(fd.valid());
        CHECK(is_open(raw));
    }
    CHECK_FALSE(is_open(raw));
}

TEST_CASE("UniqueFd takes a failed open as no descriptor", "[fd]") {
    UniqueFd fd(::open("/nonexistent/mip-test", O_RDONLY | O_CLOEXEC));
    CHECK_FALSE(fd.valid());
    CHECK(fd.get() == -1);
    CHECK_FALSE(fd.close());  // nothing held: no error
}

TEST_CASE("moving a UniqueFd moves ownership exactly once", "[fd]") {
    UniqueFd a(open_null());
    const int raw = a.get();
    UniqueFd b(std::move(a));
    CHECK_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the moved-from state is defined
    CHECK(b.get() == raw);
    UniqueFd c;
    c = std::move(b);
    CHECK(c.get() == raw);
    CHECK(is_open(raw));
    SECTION("assigning over a held descriptor closes the old one") {
        UniqueFd d(open_null());
        const int other = d.get();
        d = std::move(c);
        CHECK_FALSE(is_open(other));
        CHECK(d.get() == raw);
        CHECK(is_open(raw));
    }
}

TEST_CASE("release hands the descriptor over without closing it", "[fd]") {
    UniqueFd fd(open_null());
    const int raw = fd.release();
    CHECK_FALSE(fd.valid());
    CHECK(is_open(raw));
    CHECK(::close(raw) == 0);
}

TEST_CASE("reset closes the old descriptor and holds the new one", "[fd]") {
    UniqueFd fd(open_null());
    const int first = fd.get();
    const int second = open_null();
    fd.reset(second);
    CHECK_FALSE(is_open(first));
    CHECK(fd.get() == second);
    fd.reset();
    CHECK_FALSE(is_open(second));
    CHECK_FALSE(fd.valid());
}

TEST_CASE("close reports the kernel's error and never closes twice", "[fd]") {
    int pipe_fds[2];
    REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    UniqueFd read_end(pipe_fds[0]);
    UniqueFd write_end(pipe_fds[1]);
    CHECK_FALSE(write_end.close());
    CHECK_FALSE(write_end.valid());
    CHECK_FALSE(is_open(pipe_fds[1]));
    // A descriptor closed behind the owner's back: close() reports EBADF instead of hiding it.
    REQUIRE(::close(read_end.get()) == 0);
    auto ec = read_end.close();
    CHECK(ec == std::errc::bad_file_descriptor);
    CHECK_FALSE(read_end.valid());
}
