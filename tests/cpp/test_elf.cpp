// detail/elf: the test stage's ELF reader (NEEDED, SONAME, symbol versions), on this test
// binary itself (a real dynamic executable) and on damaged copies of it: every damaged image
// either parses or throws ArchiveError, never reads out of bounds.

#include <algorithm>
#include <string>

#include <catch2/catch.hpp>

#include <mip/error.hpp>

#include "detail/elf.hpp"
#include "detail/fs.hpp"

namespace {

// A small real ELF executable (coreutils, 35 KB): the damage loops copy the image hundreds of
// times, and this test binary with its debug information is ~150 MB (60 s; longer under ASan).
std::string small_image() { return mip::detail::read_file("/usr/bin/true"); }

}  // namespace

TEST_CASE("the reader finds this binary's NEEDED libraries and glibc version needs", "[elf]") {
    const auto info = mip::detail::read_elf("/proc/self/exe");
    CHECK(std::find(info.needed.begin(), info.needed.end(), "libc.so.6") != info.needed.end());
    CHECK(std::find(info.needed.begin(), info.needed.end(), "libstdc++.so.6") != info.needed.end());
    CHECK(info.soname.empty());
    // __libc_start_main is bound to some GLIBC_x.y version of libc.so.6.
    bool found = false;
    for (const auto& need : info.version_needs) {
        if (need.library == "libc.so.6" && mip::detail::glibc_version(need.version) &&
            std::find(need.symbols.begin(), need.symbols.end(), "__libc_start_main") !=
                need.symbols.end()) {
            found = true;
        }
    }
    CHECK(found);
}

TEST_CASE("a non-ELF file is refused as such", "[elf]") {
    CHECK_FALSE(mip::detail::is_elf("%PDF-1.4"));
    CHECK_FALSE(
        mip::detail::is_elf("\x7f"
                            "EL"));
    CHECK(mip::detail::is_elf(small_image()));
    REQUIRE_THROWS_AS(mip::detail::parse_elf("function y = f(x)\n", "f.m"), mip::ArchiveError);
}

TEST_CASE("truncated and corrupted images throw ArchiveError naming the file", "[elf]") {
    const std::string image = small_image();
    SECTION("truncated") {
        const std::size_t cut = GENERATE(5U, 16U, 52U, 64U, 1000U, 4096U);
        const std::string part = image.substr(0, std::min<std::size_t>(cut, image.size() / 2));
        try {
            (void)mip::detail::parse_elf(part, "cut.mexa64");
            FAIL("a truncated image parsed");
        } catch (const mip::ArchiveError& e) {
            CHECK(std::string(e.what()).find("cut.mexa64") != std::string::npos);
        }
    }
    SECTION("corrupted bytes anywhere parse or throw ArchiveError") {
        for (std::size_t step = 0; step < 400; ++step) {
            std::string damaged = image;
            const std::size_t at = (step * 2654435761U) % damaged.size();
            damaged[at] = static_cast<char>(damaged[at] ^ 0x5a);
            damaged[(at * 7 + 13) % damaged.size()] = '\xff';
            try {
                (void)mip::detail::parse_elf(damaged, "damaged");
            } catch (const mip::ArchiveError&) {
            }
        }
        // The section header table pointed past the end of the file.
        std::string far = image;
        for (std::size_t i = 0; i < 8; ++i) {
            far[0x28 + i] = '\x7f';
        }
        REQUIRE_THROWS_AS(mip::detail::parse_elf(far, "far"), mip::ArchiveError);
    }
}

TEST_CASE("glibc versions are read from GLIBC_x.y names only", "[elf]") {
    using P = std::pair<int, int>;
    CHECK(mip::detail::glibc_version("GLIBC_2.34") == P{2, 34});
    CHECK(mip::detail::glibc_version("GLIBC_2.2.5") == P{2, 2});
    CHECK_FALSE(mip::detail::glibc_version("GLIBC_PRIVATE"));
    CHECK_FALSE(mip::detail::glibc_version("GCC_3.0"));
    CHECK_FALSE(mip::detail::glibc_version("GLIBCXX_3.4.29"));
    CHECK(mip::detail::parse_version_pair("2.28") == P{2, 28});
    CHECK_FALSE(mip::detail::parse_version_pair("2"));
    CHECK_FALSE(mip::detail::parse_version_pair("2.x"));
    CHECK_FALSE(mip::detail::parse_version_pair(".28"));
    // 2.28 < 2.34 numerically, not as text.
    CHECK(P{2, 9} < P{2, 28});
}
