// The test stage's pure parts: the harness text rules, the first error line of an engine's
// output, the provided-library list, and the Tester's refusals before any engine starts.
// (The engine runs themselves are in tests/python/test_tester.py, with real GNU Octave.)

#include <string>

#include <catch2/catch.hpp>

#include <mip/error.hpp>
#include <mip/tester.hpp>

#include "detail/binary_checks.hpp"
#include "detail/test_harness.hpp"
#include "detail/test_install.hpp"
#include "test_support.hpp"

TEST_CASE("mip load lines of a usage example are left to the harness", "[tester]") {
    CHECK(mip::detail::strip_mip_commands("mip load foo\ny = foo(1)\n") ==
          "% (done by the harness) mip load foo\ny = foo(1)\n");
    CHECK(mip::detail::strip_mip_commands("  mip install --channel x foo\nz = 2") ==
          "% (done by the harness) mip install --channel x foo\nz = 2\n");
    // Not a mip command: a variable or function named like one stays.
    CHECK(mip::detail::strip_mip_commands("mipload = 3\n") == "mipload = 3\n");
}

TEST_CASE("the first error line prefers the harness's own line", "[tester]") {
    const std::string octave =
        "mip-test: loading x\nerror: 'q' undefined\nmip-test: error: usage_examples[0] (q): "
        "'q' undefined\nerror: called from\n";
    CHECK(mip::detail::first_error_line(octave) == "error: usage_examples[0] (q): 'q' undefined");
    CHECK(mip::detail::first_error_line("ok\nerror: out of memory\n") == "error: out of memory");
    CHECK(mip::detail::first_error_line("Error using foo\nmore\n") == "Error using foo");
    CHECK(mip::detail::first_error_line("all fine\n").empty());
}

TEST_CASE("provided libraries: glibc, the GCC runtime, MATLAB's and Octave's", "[tester]") {
    for (const char* lib :
         {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libmx.so", "libmex.so",
          "libmwlapack.so", "liboctinterp.so.10", "liboctave.so.9"}) {
        CHECK(mip::detail::is_provided_library(lib));
    }
    for (const char* lib : {"libfftw3.so.3", "libmipabsentdep.so", "libc.so.7", "libz.so.2"}) {
        CHECK_FALSE(mip::detail::is_provided_library(lib));
    }
}

TEST_CASE("MATLAB strings in the harness double their quotes", "[tester]") {
    CHECK(mip::detail::matlab_quote("/tmp/it's") == "'/tmp/it''s'");
}

TEST_CASE("a malformed glibc floor is refused before anything runs", "[tester]") {
    mip::test::TempDir tmp;
    mip::Tester tester({.input_dir = tmp.path(), .glibc_floor = "two"});
    REQUIRE_THROWS_AS(tester.test(), mip::SpecError);
}

TEST_CASE("a missing input directory is nothing to test", "[tester]") {
    mip::test::TempDir tmp;
    mip::Tester tester({.input_dir = tmp.path() / "none", .test_engine = "/nonexistent/octave"});
    const auto report = tester.test();
    CHECK(report.stage == "test");
    CHECK(report.items.empty());
}
