#include <algorithm>
#include <csignal>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include <catch2/catch.hpp>
#include <sys/resource.h>

#include <mip/bundler.hpp>
#include <mip/error.hpp>
#include <mip/package_spec.hpp>

#include "detail/crypto.hpp"
#include "detail/process.hpp"
#include "detail/zip_reader.hpp"
#include "detail/zip_writer.hpp"
#include "test_support.hpp"

using namespace mip;
using mip::test::TempDir;
using mip::test::write_file;
namespace fs = std::filesystem;

namespace {
constexpr std::int64_t epoch = 1700000001;  // odd: must be rounded down to even seconds

std::uint16_t le16(const std::string& b, std::size_t o) {
    return static_cast<std::uint16_t>(static_cast<unsigned char>(b.at(o)) |
                                      (static_cast<unsigned char>(b.at(o + 1)) << 8));
}
std::uint32_t le32(const std::string& b, std::size_t o) {
    return static_cast<std::uint32_t>(le16(b, o)) |
           (static_cast<std::uint32_t>(le16(b, o + 2)) << 16);
}

/// Deterministic MATLAB-like source text of about `bytes` bytes (compresses well).
std::string matlab_text(std::size_t bytes) {
    std::string out;
    for (std::size_t i = 0; out.size() < bytes; ++i) {
        auto n = std::to_string(i);
        out.append("function y = helper_").append(n).append("(x, opts)\n% HELPER_").append(n);
        out.append(" scales x by ").append(n).append(".\n");
        out += "if nargin < 2\n    opts = struct('scale', " + n + ");\nend\n";
        out += "y = x .* opts.scale + " + std::to_string(i % 7) + ";\nend\n\n";
    }
    out.resize(bytes);
    return out;
}

/// `n` pseudo-random bytes; std::mt19937's output is fixed by the standard.
std::string noise(std::size_t n, std::uint32_t seed) {
    std::mt19937 gen(seed);
    std::string out(n, '\0');
    for (auto& c : out) {
        c = static_cast<char>(gen() & 0xFFU);
    }
    return out;
}

/// Every regular file under `root`: relative `/` path → content.
std::map<std::string, std::string> tree_files(const fs::path& root) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (e.is_regular_file()) {
            out[fs::relative(e.path(), root).generic_string()] = test::read_file(e.path());
        }
    }
    return out;
}

bool executable(const fs::path& p) {
    return (fs::status(p).permissions() & fs::perms::owner_exec) != fs::perms::none;
}

/// Runs a tool with this process's environment (UTF-8 locale, so unzip keeps non-ASCII names).
detail::ProcessResult run_tool(std::vector<std::string> argv) {
    detail::ProcessOptions o;
    o.argv = std::move(argv);
    o.env = test::environment();
    o.env["LC_ALL"] = "C.UTF-8";
    o.timeout = std::chrono::seconds(120);
    return detail::run_process(o);
}

/// A package dir with every kind of entry: text, empty, incompressible, executable, non-ASCII.
fs::path make_mixed_dir(const fs::path& parent, const std::string& name) {
    auto dir = test::make_prepared_dir(parent, name);
    write_file(dir / "src" / "big.m", matlab_text(200000));
    write_file(dir / "src" / "empty.m", "");
    write_file(dir / "src" / "tiny.m", "a\n");
    write_file(dir / "data" / "noise.bin", noise(65536, 42));
    write_file(dir / "bin" / "tool.sh", "#!/bin/sh\necho tool\n", true);
    write_file(dir / "src" /
                   "donn\xc3\xa9"
                   "es.m",
               matlab_text(3000));
    return dir;
}

/// Expected archive contents: the dir's files, with the archived (neutralised) mip.json.
std::map<std::string, std::string> expected_contents(const fs::path& dir, const fs::path& mhl) {
    auto files = tree_files(dir);
    files["mip.json"] = detail::read_zip_entry(mhl, "mip.json");
    return files;
}
}  // namespace

TEST_CASE("bundling the same dir twice gives byte-identical archives", "[bundler]") {
    TempDir tmp;
    auto dir = test::make_prepared_dir(tmp.path(), "alpha");
    write_file(dir / "src" / "zeta.m", "function zeta\nend\n");
    write_file(dir / "src" / "run.sh", "#!/bin/sh\necho hi\n", true);
    Bundler bundler(BundleOptions{}, mip::RunOptions{.source_date_epoch = epoch});
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
    fs::create_directories(dir / "empty" / "nested");    // empty dirs are dropped
    fs::create_symlink("a.m", dir / "src" / "alias.m");  // stored as content
    auto r = Bundler(BundleOptions{}, mip::RunOptions{.source_date_epoch = epoch})
                 .bundle(dir, tmp / "out");
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
        bool ascii = std::all_of(e.name.begin(), e.name.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
        CHECK(utf8 == !ascii);
        // 2023-11-14T22:13:20Z (1700000000, the odd epoch rounded down), as DOS fields.
        CHECK(e.dos_date == ((2023 - 1980) << 9 | 11 << 5 | 14));
        CHECK(e.dos_time == (22 << 11 | 13 << 5 | 20 / 2));
        std::uint32_t mode = e.external_attributes >> 16;
        CHECK(mode == (e.name == "src/tool.sh" ? 0100755U : 0100644U));
        // Deflate only when strictly smaller, else stored (the tiny files here are stored).
        CHECK((e.method == 8 || e.method == 0));
        CHECK((e.method == 8 ? e.compressed_size < e.size : e.compressed_size == e.size));
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
        CHECK(archived.build_info.to_json().find("\"host_platform\":null") != std::string::npos);
        CHECK(archived.build_info.to_json().find("\"ci\":null") != std::string::npos);
    }
    SECTION("the sidecar is mip.json plus integrity fields") {
        auto sidecar = PackageSpec::from_json(test::read_file(r.sidecar_path));
        CHECK(sidecar.mhl_sha256 == r.sha256);
        CHECK(sidecar.mhl_size == r.size);
        CHECK(sidecar.timestamp == "2024-01-02T03:04:05Z");  // measured values kept
        CHECK(sidecar.build_info.to_json().find("\"host_platform\":\"linux_x86_64\"") !=
              std::string::npos);
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
    auto r0 =
        Bundler(BundleOptions{}, mip::RunOptions{.source_date_epoch = 0}).bundle(dir, tmp / "out0");
    CHECK(detail::read_raw_zip(r0.mhl_path).entries.front().dos_date == (0 << 9 | 1 << 5 | 1));
}

TEST_CASE("the sidecar gets a content-addressed mhl_url from the base URL", "[bundler]") {
    TempDir tmp;
    auto dir = test::make_prepared_dir(tmp.path(), "delta");
    auto r = Bundler(BundleOptions{},
                     mip::RunOptions{.base_url = "https://pkgs.example.org/core/packages/"})
                 .bundle(dir, tmp / "out");
    auto sidecar = PackageSpec::from_json(test::read_file(r.sidecar_path));
    CHECK(sidecar.mhl_url == "https://pkgs.example.org/core/packages/sha256/" + r.sha256 +
                                 "/delta-1.0.0-any-none-any.mhl");
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

TEST_CASE("zip headers follow the mip format byte for byte", "[bundler][zip]") {
    TempDir tmp;
    auto dir = make_mixed_dir(tmp.path(), "bytes");
    auto r = Bundler(BundleOptions{}, mip::RunOptions{.source_date_epoch = epoch})
                 .bundle(dir, tmp / "out");
    const auto b = test::read_file(r.mhl_path);
    const auto raw = detail::read_raw_zip(r.mhl_path);
    REQUIRE(raw.entries.size() == r.entries);
    CHECK_FALSE(raw.has_zip64);
    std::size_t next_local = 0;  // entries are contiguous: header, name, data, next header
    for (const auto& e : raw.entries) {
        INFO(e.name);
        CHECK(e.version_made_by == 0x0314);
        CHECK(e.version_needed == 20);
        const bool ascii = std::all_of(e.name.begin(), e.name.end(),
                                       [](char c) { return static_cast<unsigned char>(c) < 0x80; });
        CHECK(e.flags == (ascii ? 0 : 0x0800));
        CHECK(e.local_flags == e.flags);
        CHECK(e.extra_length == 0);
        CHECK(e.local_extra_length == 0);
        CHECK(e.comment_length == 0);
        CHECK(e.internal_attributes == 0);
        CHECK(e.external_attributes == (e.name == "bin/tool.sh" ? 0100755U << 16 : 0100644U << 16));
        CHECK(e.local_matches_central);
        REQUIRE(e.local_header_offset == next_local);
        const std::size_t l = e.local_header_offset;
        CHECK(le32(b, l) == 0x04034b50);
        CHECK(le16(b, l + 4) == 20);  // version needed (local)
        CHECK(le16(b, l + 10) == e.dos_time);
        CHECK(le16(b, l + 12) == e.dos_date);
        CHECK(e.dos_time == (22 << 11 | 13 << 5 | 20 / 2));
        next_local = l + 30 + e.name.size() + e.compressed_size;
    }
    // End of central directory: right after the central directory, at the very end, no comment.
    const std::size_t eocd = b.size() - 22;
    CHECK(le32(b, eocd) == 0x06054b50);
    CHECK(le16(b, eocd + 4) == 0);
    CHECK(le16(b, eocd + 6) == 0);
    CHECK(le16(b, eocd + 8) == r.entries);
    CHECK(le16(b, eocd + 10) == r.entries);
    CHECK(le32(b, eocd + 16) == next_local);
    CHECK(le32(b, eocd + 16) + le32(b, eocd + 12) == eocd);
    CHECK(le16(b, eocd + 20) == 0);
    // The first central record, in full.
    const std::size_t cd = le32(b, eocd + 16);
    CHECK(le32(b, cd) == 0x02014b50);
    CHECK(le16(b, cd + 4) == 0x0314);
    CHECK(le16(b, cd + 6) == 20);
    CHECK(le16(b, cd + 34) == 0);  // disk number start
    std::map<std::string, std::uint16_t> flags;
    for (const auto& e : raw.entries) {
        flags[e.name] = e.flags;
    }
    CHECK(flags.at("src/donn\xc3\xa9"
                   "es.m") == 0x0800);
    CHECK(flags.at("src/big.m") == 0);
}

TEST_CASE("entries are stored when empty or incompressible and deflated otherwise",
          "[bundler][zip]") {
    TempDir tmp;
    auto dir = make_mixed_dir(tmp.path(), "methods");
    auto r = Bundler(BundleOptions{}, mip::RunOptions{.source_date_epoch = epoch})
                 .bundle(dir, tmp / "out");
    std::map<std::string, detail::RawZipEntry> by_name;
    for (const auto& e : detail::read_raw_zip(r.mhl_path).entries) {
        by_name[e.name] = e;
    }
    const auto& empty = by_name.at("src/empty.m");
    CHECK(empty.method == 0);
    CHECK(empty.size == 0);
    CHECK(empty.compressed_size == 0);
    CHECK(empty.crc == 0);
    const auto& random = by_name.at("data/noise.bin");
    CHECK(random.method == 0);
    CHECK(random.compressed_size == random.size);
    CHECK(random.size == 65536);
    const auto& tiny = by_name.at("src/tiny.m");  // deflate output would be larger than 2 bytes
    CHECK(tiny.method == 0);
    CHECK(tiny.compressed_size == 2);
    const auto& text = by_name.at("src/big.m");
    CHECK(text.method == 8);
    CHECK(text.size == 200000);
    CHECK(text.compressed_size < text.size / 4);
    CHECK(by_name.at("load_package.m").method == 8);
    // CRCs agree with libzip's reading, and every entry reads back as its source.
    auto files = expected_contents(dir, r.mhl_path);
    for (const auto& e : detail::read_zip_entries(r.mhl_path)) {
        INFO(e.name);
        CHECK(e.crc == by_name.at(e.name).crc);
        CHECK(detail::read_zip_entry(r.mhl_path, e.name) == files.at(e.name));
    }

    SECTION("compression level 0 stores every entry") {
        auto s = Bundler(BundleOptions{.compression_level = 0},
                         mip::RunOptions{.source_date_epoch = epoch})
                     .bundle(dir, tmp / "out0");
        for (const auto& e : detail::read_raw_zip(s.mhl_path).entries) {
            INFO(e.name);
            CHECK(e.method == 0);
            CHECK(e.compressed_size == e.size);
        }
        CHECK(s.sha256 != r.sha256);
        CHECK(s.size > r.size);
    }
    SECTION("a compression level outside 0 to 9 is refused") {
        CHECK_THROWS_AS(Bundler(BundleOptions{.compression_level = 10}).bundle(dir, tmp / "out10"),
                        ArchiveError);
        CHECK_FALSE(fs::exists(tmp / "out10" / "methods-1.0.0-any-none-any.mhl"));
    }
}

TEST_CASE("archives round-trip through extract_zip and unzip and python zipfile",
          "[bundler][zip]") {
    TempDir tmp;
    auto dir = make_mixed_dir(tmp.path(), "trip");
    auto r = Bundler(BundleOptions{}, mip::RunOptions{.source_date_epoch = epoch})
                 .bundle(dir, tmp / "out");
    const auto expected = expected_contents(dir, r.mhl_path);
    REQUIRE(expected.size() == r.entries);

    SECTION("detail::extract_zip") {
        detail::extract_zip(r.mhl_path, tmp / "x-mip", false);
        CHECK(tree_files(tmp / "x-mip") == expected);
        CHECK(executable(tmp / "x-mip" / "bin" / "tool.sh"));
        CHECK_FALSE(executable(tmp / "x-mip" / "src" / "big.m"));
    }
    SECTION("unzip -t and unzip") {
        auto t = run_tool({"unzip", "-t", r.mhl_path.string()});
        INFO(t.output);
        CHECK(t.ok());
        CHECK(t.output.find("No errors detected") != std::string::npos);
        auto x = run_tool({"unzip", "-q", r.mhl_path.string(), "-d", (tmp / "x-unzip").string()});
        INFO(x.output);
        REQUIRE(x.ok());
        CHECK(tree_files(tmp / "x-unzip") == expected);
        CHECK(executable(tmp / "x-unzip" / "bin" / "tool.sh"));
    }
    SECTION("python zipfile") {
        const std::string script =
            "import sys, zipfile\n"
            "with zipfile.ZipFile(sys.argv[1]) as z:\n"
            "    bad = z.testzip()\n"
            "    assert bad is None, bad\n"
            "    for i in z.infolist():\n"
            "        assert not i.extra and not i.comment and i.create_system == 3, i\n"
            "        assert i.create_version == 20 and i.extract_version == 20, i\n"
            "    z.extractall(sys.argv[2])\n";
        auto p =
            run_tool({MIP_TEST_PYTHON, "-c", script, r.mhl_path.string(), (tmp / "x-py").string()});
        INFO(p.output);
        REQUIRE(p.ok());
        CHECK(tree_files(tmp / "x-py") == expected);
    }
}

TEST_CASE("two bundles are identical and the streamed sha256 is the file's", "[bundler][zip]") {
    TempDir tmp;
    auto dir = make_mixed_dir(tmp.path(), "twice");
    Bundler bundler(BundleOptions{}, mip::RunOptions{.source_date_epoch = epoch});
    auto a = bundler.bundle(dir, tmp / "a");
    auto b = bundler.bundle(dir, tmp / "b");
    CHECK(test::read_file(a.mhl_path) == test::read_file(b.mhl_path));
    CHECK(a.sha256 == b.sha256);
    CHECK(a.sha256 == detail::sha256_file_hex(a.mhl_path));
    CHECK(a.size == fs::file_size(a.mhl_path));
    CHECK(a.size == b.size);
    auto sidecar = PackageSpec::from_json(test::read_file(a.sidecar_path));
    CHECK(sidecar.mhl_sha256 == detail::sha256_file_hex(a.mhl_path));
    CHECK(sidecar.mhl_size == fs::file_size(a.mhl_path));
    // Nothing but the archive and its sidecar is left in the output directory.
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(tmp / "a")) {
        names.insert(e.path().filename().string());
    }
    CHECK(names == std::set<std::string>{"twice-1.0.0-any-none-any.mhl",
                                         "twice-1.0.0-any-none-any.mhl.mip.json"});
}

// Golden digests. The .mhl bytes depend on the deflate implementation: libmip pins libdeflate
// 1.14 (cmake/MipDependencies.cmake) so that the same package always gets the same mhl_sha256.
// If one of these fails after a dependency or writer change, archives are no longer
// byte-identical to the ones already published: that is a format change, not a test to update
// casually (mip-format.md §10, Determinism).
TEST_CASE("the zip writer output is pinned by a golden digest", "[bundler][zip][golden]") {
    TempDir tmp;
    const std::string text = matlab_text(20000);
    const std::string random = noise(1000, 7);
    const std::vector<detail::ZipWriteEntry> entries = {
        {"a/empty.m", {}, std::string_view(), false, 0},
        {"a/noise.bin", {}, std::string_view(random), false, random.size()},
        {"a/text.m", {}, std::string_view(text), false, text.size()},
        {"caf\xc3\xa9.m", {}, std::string_view("x = 1;\n"), false, 7},
        {"run.sh", {}, std::string_view("#!/bin/sh\nexit 0\n"), true, 17},
    };
    detail::ZipWriteOptions options;
    options.dos_time = 22 << 11 | 13 << 5 | 10;
    options.dos_date = (2023 - 1980) << 9 | 11 << 5 | 14;
    auto w = detail::write_zip(tmp / "golden.zip", entries, options);
    CHECK(w.sha256 == detail::sha256_file_hex(tmp / "golden.zip"));
    CHECK(w.size == fs::file_size(tmp / "golden.zip"));
    CHECK(w.size == 3102U);
    CHECK(w.sha256 == "ea4c2f2d7de69867297a1f3433a68e25a54705c3e905efe629093f0f90313ce3");
}

TEST_CASE("a bundle of a fixed tree is pinned by a golden digest", "[bundler][zip][golden]") {
    // Also pins the archived mip.json (the §3 writer with volatile fields neutralised): a change
    // there changes every package's digest too.
    TempDir tmp;
    PackageSpec spec;
    spec.name = "golden";
    spec.version = "1.2.3";
    spec.description = "golden archive";
    spec.exposed_symbols = {"golden_fn"};
    spec.timestamp = "2024-01-02T03:04:05Z";
    spec.build_info = mip::BuildInfo::from_json(
        R"({"source_date_epoch":1600000000,"host_platform":"linux_x86_64"})");
    auto dir = tmp / (spec.wheel_name() + ".dir");
    write_file(dir / "mip.json", spec.to_json());
    write_file(dir / "load_package.m",
               "addpath(fullfile(fileparts(mfilename('fullpath')), 'src'));\n");
    write_file(dir / "unload_package.m",
               "rmpath(fullfile(fileparts(mfilename('fullpath')), 'src'));\n");
    write_file(dir / "src" / "golden_fn.m", matlab_text(5000));
    write_file(dir / "src" / "empty.m", "");
    write_file(dir / "bin" / "run.sh", "#!/bin/sh\nexit 0\n", true);
    auto r = Bundler(BundleOptions{}, mip::RunOptions{.source_date_epoch = 1600000000})
                 .bundle(dir, tmp / "out");
    CHECK(r.size == 1552U);
    CHECK(r.sha256 == "db464687b2343c096823b2344476e2debad4f3e5b2199b3731ddfe5921830b27");
}

TEST_CASE("a file that changes size after it was listed is an ArchiveError naming it",
          "[bundler][zip]") {
    TempDir tmp;
    write_file(tmp / "f.m", matlab_text(1000));
    auto archive = tmp / "out.zip";
    auto attempt = [&](std::uint64_t listed) {
        std::vector<detail::ZipWriteEntry> entries = {
            {"f.m", tmp / "f.m", std::nullopt, false, listed}};
        (void)detail::write_zip(archive, entries, {});
    };
    SECTION("grown") {
        CHECK_THROWS_AS(attempt(999), ArchiveError);
        CHECK_THROWS_WITH(attempt(999),
                          Catch::Contains("'f.m'") && Catch::Contains("changed size"));
    }
    SECTION("shrunk") {
        CHECK_THROWS_WITH(attempt(1001),
                          Catch::Contains("'f.m'") && Catch::Contains("changed size"));
    }
    SECTION("replaced by a directory") {
        fs::remove(tmp / "f.m");
        fs::create_directory(tmp / "f.m");
        CHECK_THROWS_AS(attempt(1000), ArchiveError);
    }
    SECTION("unchanged") {
        attempt(1000);
        CHECK(detail::read_zip_entry(archive, "f.m") == matlab_text(1000));
        fs::remove(archive);
    }
    CHECK_FALSE(fs::exists(archive));  // no bad archive left behind
}

TEST_CASE("the zip writer refuses what would need ZIP64 or an existing file", "[bundler][zip]") {
    TempDir tmp;
    std::vector<detail::ZipWriteEntry> entries(65536);
    for (std::size_t i = 0; i < entries.size(); ++i) {
        entries[i].name = "f" + std::to_string(i);
        entries[i].content = std::string_view();
    }
    CHECK_THROWS_WITH(detail::write_zip(tmp / "many.zip", entries, {}),
                      Catch::Contains("at most 65535"));
    CHECK_FALSE(fs::exists(tmp / "many.zip"));
    entries.resize(65535);
    auto w = detail::write_zip(tmp / "max.zip", entries, {});
    CHECK(detail::read_raw_zip(tmp / "max.zip").entries.size() == 65535);
    CHECK(w.size == fs::file_size(tmp / "max.zip"));
    CHECK_THROWS_AS(detail::write_zip(tmp / "max.zip", entries, {}), IoError);  // never overwrites
    CHECK(w.sha256 == detail::sha256_file_hex(tmp / "max.zip"));
}

TEST_CASE("a write error names the archive and leaves nothing behind", "[bundler][zip]") {
    TempDir tmp;
    auto dir = test::make_prepared_dir(tmp.path(), "full");
    write_file(dir / "data" / "noise.bin", noise(1 << 20, 3));  // stored: 1 MiB written as is
    auto out = tmp / "out";
    fs::create_directories(out);
    // A file size limit makes write(2) fail with EFBIG once the archive reaches it, like ENOSPC.
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit old_limit{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
    rlimit limit = old_limit;
    limit.rlim_cur = rlim_t{256} * 1024;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
    std::string message;
    std::string path;
    try {
        (void)Bundler(BundleOptions{}, mip::RunOptions{.source_date_epoch = epoch})
            .bundle(dir, out);
    } catch (const IoError& e) {
        message = e.what();
        path = e.path();
    }
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    std::signal(SIGXFSZ, old_handler);
    INFO(message);
    CHECK(path == (out / "full-1.0.0-any-none-any.mhl").string());
    CHECK(message.find("cannot write archive") != std::string::npos);
    CHECK(fs::is_empty(out));
}

TEST_CASE("files of 64 MiB or more are mapped and round-trip", "[bundler][zip][slow]") {
    TempDir tmp;
    auto dir = test::make_prepared_dir(tmp.path(), "huge");
    const auto big = matlab_text(static_cast<std::size_t>(detail::zip_mmap_threshold) + 12345);
    write_file(dir / "data" / "big.m", big);
    auto r = Bundler(BundleOptions{}, mip::RunOptions{.source_date_epoch = epoch})
                 .bundle(dir, tmp / "out");
    CHECK(r.sha256 == detail::sha256_file_hex(r.mhl_path));
    for (const auto& e : detail::read_raw_zip(r.mhl_path).entries) {
        if (e.name == "data/big.m") {
            CHECK(e.method == 8);
            CHECK(e.size == big.size());
        }
    }
    CHECK(detail::read_zip_entry(r.mhl_path, "data/big.m") == big);
    auto t = run_tool({"unzip", "-tq", r.mhl_path.string()});
    INFO(t.output);
    CHECK(t.ok());
}
