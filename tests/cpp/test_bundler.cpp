#include <catch2/catch.hpp>

#include <mip/bundler.hpp>
#include <mip/error.hpp>
#include <mip/package_spec.hpp>

#include <algorithm>
#include <fstream>
#include <set>

#include "detail/crypto.hpp"
#include "detail/zip_reader.hpp"
#include "test_support.hpp"

using namespace mip;
using mip::test::TempDir;
using mip::test::write_file;
namespace fs = std::filesystem;

namespace {
constexpr std::int64_t epoch = 1700000001;  // odd: must be rounded down to even seconds
}

TEST_CASE("bundling the same dir twice gives byte-identical archives", "[bundler]") {
    TempDir tmp;
    auto dir = test::make_prepared_dir(tmp.path(), "alpha");
    write_file(dir / "src" / "zeta.m", "function zeta\nend\n");
    write_file(dir / "src" / "run.sh", "#!/bin/sh\necho hi\n", true);
    Bundler bundler(BundleOptions{.source_date_epoch = epoch});
    auto a = bundler.bundle(dir, tmp / "out1");
    // Touch every file: mtimes must not matter.
    for (auto& e : fs::recursive_directory_iterator(dir)) {
        fs::last_write_time(e.path(), fs::file_time_type::clock::now());
    }
    auto b = bundler.bundle(dir, tmp / "out2");
    CHECK(test::read_file(a.mhl_path) == test::read_file(b.mhl_path));
    CHECK(a.sha256 == b.sha256);
    CHECK(a.sha256 == detail::sha256_file_hex(a.mhl_path));
    CHECK(a.size == fs::file_size(a.mhl_path));
    CHECK(a.mhl_path.filename() == "alpha-1.0.0-any-none-any.mhl");
}

TEST_CASE("archives have every property mip clients need", "[bundler]") {
    TempDir tmp;
    auto dir = test::make_prepared_dir(tmp.path(), "beta");
    write_file(dir / "src" / "B.m", "b\n");
    write_file(dir / "src" / "a.m", "a\n");
    write_file(dir / "src" / "tool.sh", "#!/bin/sh\n", true);
    write_file(dir / "src" / "données.m", "x\n");
    fs::create_directories(dir / "empty" / "nested");  // empty dirs are dropped
    fs::create_symlink("a.m", dir / "src" / "alias.m");  // stored as content
    auto r = Bundler(BundleOptions{.source_date_epoch = epoch}).bundle(dir, tmp / "out");
    auto raw = detail::read_raw_zip(r.mhl_path);
    CHECK_FALSE(raw.has_zip64);
    CHECK(raw.comment_length == 0);
    std::vector<std::string> names;
    for (const auto& e : raw.entries) {
        names.push_back(e.name);
        INFO(e.name);
        CHECK(e.extra_length == 0);
        CHECK(e.local_extra_length == 0);
        CHECK(e.comment_length == 0);
        CHECK((e.flags & 0x0008) == 0);  // no data descriptor
        CHECK(e.local_matches_central);
        CHECK(e.internal_attributes == 0);
        CHECK((e.version_made_by >> 8) == 3);  // Unix
        bool utf8 = (e.flags & 0x0800) != 0;
        bool ascii = std::all_of(e.name.begin(), e.name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
        CHECK(utf8 == !ascii);
        // 2023-11-14T22:13:20Z (1700000000, the odd epoch rounded down), as DOS fields.
        CHECK(e.dos_date == ((2023 - 1980) << 9 | 11 << 5 | 14));
        CHECK(e.dos_time == (22 << 11 | 13 << 5 | 20 / 2));
        std::uint32_t mode = e.external_attributes >> 16;
        CHECK(mode == (e.name == "src/tool.sh" ? 0100755U : 0100644U));
        CHECK(e.method == 8);  // deflate
    }
    auto sorted = names;
    std::sort(sorted.begin(), sorted.end());
    CHECK(names == sorted);
    CHECK(std::set<std::string>(names.begin(), names.end()).count("mip.json") == 1);
    CHECK(std::count(names.begin(), names.end(), "load_package.m") == 1);
    CHECK(std::count(names.begin(), names.end(), "unload_package.m") == 1);
    for (const auto& n : names) {
        CHECK(n.rfind("empty", 0) != 0);
        CHECK(n.front() != '/');
    }
    CHECK(detail::read_zip_entry(r.mhl_path, "src/alias.m") == "a\n");

    SECTION("the archived mip.json has volatile fields neutralised") {
        auto archived = PackageSpec::from_json(detail::read_zip_entry(r.mhl_path, "mip.json"));
        CHECK(archived.timestamp == "2023-11-14T22:13:20Z");
        CHECK(archived.prepare_duration == 0);
        CHECK_FALSE(archived.mhl_sha256.has_value());
        CHECK_FALSE(archived.mhl_url.has_value());
        CHECK(archived.build_info_json.find("\"host_platform\":null") != std::string::npos);
        CHECK(archived.build_info_json.find("\"ci\":null") != std::string::npos);
    }
    SECTION("the sidecar is mip.json plus integrity fields") {
        auto sidecar = PackageSpec::from_json(test::read_file(r.sidecar_path));
        CHECK(sidecar.mhl_sha256 == r.sha256);
        CHECK(sidecar.mhl_size == r.size);
        CHECK(sidecar.timestamp == "2024-01-02T03:04:05Z");  // measured values kept
        CHECK(sidecar.build_info_json.find("\"host_platform\":\"linux_x86_64\"") != std::string::npos);
    }
}

TEST_CASE("the epoch comes from build_info and is clamped to the zip range", "[bundler]") {
    CHECK(clamp_zip_epoch(0) == 315532800);
    CHECK(clamp_zip_epoch(1700000001) == 1700000000);
    CHECK(clamp_zip_epoch(99999999999) == 4354819198);
    TempDir tmp;
    auto dir = test::make_prepared_dir(tmp.path(), "gamma");
    auto r = Bundler().bundle(dir, tmp / "out");  // build_info.source_date_epoch = 1700000000
    auto raw = detail::read_raw_zip(r.mhl_path);
    CHECK(raw.entries.front().dos_date == ((2023 - 1980) << 9 | 11 << 5 | 14));
    auto r0 = Bundler(BundleOptions{.source_date_epoch = 0}).bundle(dir, tmp / "out0");
    CHECK(detail::read_raw_zip(r0.mhl_path).entries.front().dos_date == (0 << 9 | 1 << 5 | 1));
}

TEST_CASE("the sidecar gets a content-addressed mhl_url from the base URL", "[bundler]") {
    TempDir tmp;
    auto dir = test::make_prepared_dir(tmp.path(), "delta");
    auto r = Bundler(BundleOptions{.base_url = "https://pkgs.example.org/core/packages/"}).bundle(dir, tmp / "out");
    auto sidecar = PackageSpec::from_json(test::read_file(r.sidecar_path));
    CHECK(sidecar.mhl_url == "https://pkgs.example.org/core/packages/sha256/" + r.sha256 + "/delta-1.0.0-any-none-any.mhl");
    CHECK(Bundler::mhl_url("https://x/p", "w", "h", true) == "https://x/p/w.mhl");
}

TEST_CASE("unsafe package directories are refused and leave nothing behind", "[bundler]") {
    TempDir tmp;
    auto dir = test::make_prepared_dir(tmp.path(), "eps");
    auto out = tmp / "out";
    auto no_output = [&out]() {
        if (!fs::exists(out)) {
            return true;
        }
        return fs::is_empty(out);
    };
    SECTION("a symlink leaving the directory") {
        write_file(tmp / "secret.txt", "secret\n");
        fs::create_symlink(tmp / "secret.txt", dir / "src" / "leak.m");
        CHECK_THROWS_AS(Bundler().bundle(dir, out), ArchiveError);
        CHECK_THROWS_WITH(Bundler().bundle(dir, out), Catch::Contains("src/leak.m"));
        CHECK(no_output());
    }
    SECTION("a symlink to a directory") {
        fs::create_directory_symlink(dir / "src", dir / "srclink");
        CHECK_THROWS_AS(Bundler().bundle(dir, out), ArchiveError);
        CHECK(no_output());
    }
    SECTION("names colliding ignoring case") {
        write_file(dir / "src" / "Foo.m", "1\n");
        write_file(dir / "src" / "foo.m", "2\n");
        CHECK_THROWS_WITH(Bundler().bundle(dir, out), Catch::Contains("collide ignoring case"));
        CHECK(no_output());
    }
    SECTION("a backslash in a file name") {
        write_file(dir / "src" / "a\\b.m", "1\n");
        CHECK_THROWS_AS(Bundler().bundle(dir, out), ArchiveError);
        CHECK(no_output());
    }
    SECTION("mip.json describing another package") {
        auto spec = PackageSpec::from_json(test::read_file(dir / "mip.json"));
        spec.version = "2.0.0";
        write_file(dir / "mip.json", spec.to_json());
        CHECK_THROWS_AS(Bundler().bundle(dir, out), SpecError);
        CHECK(no_output());
    }
    SECTION("no load_package.m") {
        fs::remove(dir / "load_package.m");
        CHECK_THROWS_WITH(Bundler().bundle(dir, out), Catch::Contains("load_package.m"));
        CHECK(no_output());
    }
    SECTION("a failed compile") {
        write_file(tmp / "eps-1.0.0-any-none-any.work" / "compile.failed", "compile.m failed\n");
        CHECK_THROWS_AS(Bundler().bundle(dir, out), BuildError);
        CHECK(no_output());
    }
    SECTION("a directory not named <wheel>.dir") {
        CHECK_THROWS_AS(Bundler().bundle(dir / "src", out), SpecError);
    }
}

TEST_CASE("too many files for a non-ZIP64 archive is a clear error", "[bundler][slow]") {
    TempDir tmp;
    auto dir = test::make_prepared_dir(tmp.path(), "many");
    for (int i = 0; i < 65536; ++i) {
        std::ofstream(dir / "src" / ("f" + std::to_string(i) + ".txt")) << "";
    }
    CHECK_THROWS_WITH(Bundler().bundle(dir, tmp / "out"), Catch::Contains("at most 65535"));
    CHECK_FALSE(fs::exists(tmp / "out" / "many-1.0.0-any-none-any.mhl"));
}
