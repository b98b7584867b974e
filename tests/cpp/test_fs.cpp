// detail/fs: atomic writes sweep the temporaries of writers that died, once per directory, and
// leave those of live writers, other hosts and anything else alone.

#include <filesystem>
#include <string>

#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include "detail/fs.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

/// The pid of a child that has exited and been reaped: no process has it (until reused).
pid_t dead_pid() {
    const pid_t child = ::fork();
    if (child == 0) {
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    return child;
}

/// "<host>-" as this process tags its temporaries.
std::string host_prefix() {
    const std::string tag = mip::detail::process_tag();
    return tag.substr(0, tag.rfind('-') + 1);
}

}  // namespace

TEST_CASE("an atomic write sweeps every dead writer's temporaries of its directory", "[fs]") {
    mip::test::TempDir tmp;
    const auto dir = tmp.path() / "bundled";
    const std::string dead = host_prefix() + std::to_string(dead_pid()) + "-0a1b2c";
    const std::string live = mip::detail::process_tag() + "-0a1b2c";
    const std::string gone[] = {".a.mhl.tmp-" + dead,             // the target's own
                                ".b.mhl.mip.json.tmp-" + dead,    // another target's
                                ".c.mhl.tmp-0123abcdef"};         // older untagged form
    const std::string kept[] = {".a.mhl.tmp-" + live,             // a live writer (this one)
                                ".b.mhl.tmp-otherhost-1-0a1b2c",  // another host's
                                ".notes.tmp-draft",               // not ours: not hex, no tag
                                ".tmp-0123abcdef",                // no target name
                                ".hidden",
                                "x.mhl.tmp-0123abcdef"};  // not a dot file
    for (const auto& n : gone) {
        mip::test::write_file(dir / n, "half");
    }
    for (const auto& n : kept) {
        mip::test::write_file(dir / n, "keep");
    }
    mip::detail::write_file_atomic(dir / "a.mhl", "whole");
    CHECK(mip::test::read_file(dir / "a.mhl") == "whole");
    for (const auto& n : gone) {
        CHECK_FALSE(fs::exists(dir / n));
    }
    for (const auto& n : kept) {
        CHECK(fs::exists(dir / n));
    }

    SECTION("outside a sweep scope every write sweeps") {
        const std::string late = ".d.mhl.tmp-" + host_prefix() + std::to_string(dead_pid()) + "-9f";
        mip::test::write_file(dir / late, "half");
        mip::detail::write_file_atomic(dir / "d.mhl", "whole");
        CHECK_FALSE(fs::exists(dir / late));
    }
    SECTION("inside a sweep scope a directory is swept by its first write only") {
        const std::string late = ".d.mhl.tmp-" + host_prefix() + std::to_string(dead_pid()) + "-9f";
        {
            const mip::detail::StaleTempSweepScope scope;
            mip::detail::write_file_atomic(dir / "e.mhl", "whole");  // the sweep
            mip::test::write_file(dir / late, "half");
            mip::detail::write_file_atomic(dir / "d.mhl", "whole");
            CHECK(fs::exists(dir / late));  // not scanned again
        }
        mip::detail::write_file_atomic(dir / "d.mhl", "again");  // the scope is gone
        CHECK_FALSE(fs::exists(dir / late));
    }
    SECTION("another directory is swept on its own first write") {
        const auto other = tmp.path() / "gh-pages";
        const std::string stale = ".index.json.tmp-" + dead;
        mip::test::write_file(other / stale, "half");
        mip::detail::write_file_atomic(other / "index.json", "{}");
        CHECK_FALSE(fs::exists(other / stale));
    }
}
