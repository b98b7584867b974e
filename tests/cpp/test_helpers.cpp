// Recipe helpers (format spec §8) on real trees: symbol collection, load/unload scripts, subdir
// lists, prebuilt stripping, addpaths, the host tag, git clones of a repository the test creates,
// and zip download/extraction from file:// URLs of archives the test writes with libzip.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <zip.h>

#include <mip/error.hpp>
#include <mip/helpers.hpp>
#include <mip/recipe.hpp>

#include "detail/crypto.hpp"
#include "detail/process.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using mip::test::TempDir;
using mip::test::write_file;
using V = std::vector<std::string>;

namespace {

/// Every entry below `dir` (files, dirs, links), `/`-separated and relative, sorted.
V tree(const fs::path& dir) {
    V out;
    if (!fs::exists(dir)) {
        return out;
    }
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
         ++it) {
        out.push_back(it->path().lexically_relative(dir).generic_string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

void touch(const fs::path& p) { write_file(p, "% " + p.filename().string() + "\n"); }

unsigned mode_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 07777U;
}

}  // namespace

// --- collect_exposed_symbols and variants ---

TEST_CASE("collect_exposed_symbols lists top-level identifiers, sorted bytewise", "[helpers]") {
    TempDir tmp;
    auto d = tmp / "pkg";
    for (const char* f :
         {"alpha.m",     "Beta.m",     "_under.m",   "1bad.m",        "my-fn.m",
          "a.b.m",       "gamma.c",    "delta.M",    "eps.mat",       "README.md",
          "dup.m",       "dup.c",      ".hidden.m",  "caf\xc3\xa9.m", "sub/inner.m",
          "private/p.m", "+pkgns/f.m", "@cls/cls.m", "+1bad/x.m",     "@my-cls/x.m"}) {
        touch(d / f);
    }
    fs::create_directories(d / "zeta.m");  // a directory, not a file
    fs::create_directories(d / "+");       // no name after '+'

    CHECK(mip::collect_exposed_symbols(d) == V{"Beta", "alpha", "cls", "dup", "pkgns"});
    CHECK(mip::collect_exposed_symbols(d, {".m", ".c"}) ==
          V{"Beta", "alpha", "cls", "dup", "gamma", "pkgns"});
    // Extensions are case-sensitive.
    CHECK(mip::collect_exposed_symbols(d, {".M"}) == V{"cls", "delta", "pkgns"});
    CHECK(mip::collect_exposed_symbols(d, {}) == V{"cls", "pkgns"});

    REQUIRE_THROWS_AS(mip::collect_exposed_symbols(tmp / "missing"), mip::SpecError);
}

TEST_CASE("collect_exposed_symbols_multiple_paths is the sorted union", "[helpers]") {
    TempDir tmp;
    auto d = tmp / "pkg";
    touch(d / "root_fn.m");
    touch(d / "src" / "a.m");
    touch(d / "src" / "shared.m");
    touch(d / "lib" / "b.m");
    touch(d / "lib" / "shared.m");
    touch(d / "lib" / "mexsrc.c");
    touch(d / "lib" / "deeper" / "not_top.m");
    CHECK(mip::collect_exposed_symbols_multiple_paths(d, {".", "src", "lib"}) ==
          V{"a", "b", "root_fn", "shared"});
    CHECK(mip::collect_exposed_symbols_multiple_paths(d, {"lib"}, {".m", ".c"}) ==
          V{"b", "mexsrc", "shared"});
    CHECK(mip::collect_exposed_symbols_multiple_paths(d, {}).empty());
    REQUIRE_THROWS_AS(mip::collect_exposed_symbols_multiple_paths(d, {"src", "nope"}),
                      mip::SpecError);
}

TEST_CASE("collect_exposed_symbols_recursive walks subdirectories, pruning special ones",
          "[helpers]") {
    TempDir tmp;
    auto d = tmp / "pkg";
    touch(d / "outside_base.m");
    touch(d / "src" / "a.m");
    touch(d / "src" / "sub" / "b.m");
    touch(d / "src" / "sub" / "deeper" / "c.m");
    touch(d / "src" / "private" / "p.m");
    touch(d / "src" / "+ns" / "inner.m");
    touch(d / "src" / "@cls" / "method.m");
    touch(d / "src" / "tests" / "t.m");
    touch(d / "src" / "sub" / "tests" / "t2.m");
    touch(d / "src" / ".git" / "g.m");
    CHECK(mip::collect_exposed_symbols_recursive(d, "src") ==
          V{"a", "b", "c", "cls", "ns", "t", "t2"});
    CHECK(mip::collect_exposed_symbols_recursive(d, "src", {"tests"}) ==
          V{"a", "b", "c", "cls", "ns"});
    CHECK(mip::collect_exposed_symbols_recursive(d, "src", {"sub"}) == V{"a", "cls", "ns", "t"});
    CHECK(mip::collect_exposed_symbols_recursive(d, ".", {"tests", "src"}) == V{"outside_base"});
}

// --- load / unload scripts ---

namespace {
std::string add_line(const std::string& fn, const std::string& rel) {
    if (rel == ".") {
        return fn + "(fileparts(mfilename('fullpath')));\n";
    }
    return fn + "(fullfile(fileparts(mfilename('fullpath')), '" + rel + "'));\n";
}
}  // namespace

TEST_CASE("create_load_and_unload_scripts writes the exact documented lines", "[helpers]") {
    TempDir tmp;
    auto d = tmp / "pkg.dir";
    fs::create_directories(d);
    auto load = [&]() { return mip::test::read_file(d / "load_package.m"); };
    auto unload = [&]() { return mip::test::read_file(d / "unload_package.m"); };

    SECTION("the package root") {
        mip::create_load_and_unload_scripts(d, {"."});
        CHECK(load() == "addpath(fileparts(mfilename('fullpath')));\n");
        CHECK(unload() == "rmpath(fileparts(mfilename('fullpath')));\n");
    }
    SECTION("nested dirs in order; unload reversed") {
        mip::create_load_and_unload_scripts(d, {".", "src", "src/sub dir", "lib/x"});
        CHECK(load() == add_line("addpath", ".") + add_line("addpath", "src") +
                            add_line("addpath", "src/sub dir") + add_line("addpath", "lib/x"));
        CHECK(unload() == add_line("rmpath", "lib/x") + add_line("rmpath", "src/sub dir") +
                              add_line("rmpath", "src") + add_line("rmpath", "."));
    }
    SECTION("a quote in a dir name is doubled") {
        mip::create_load_and_unload_scripts(d, {"it's"});
        CHECK(load() == "addpath(fullfile(fileparts(mfilename('fullpath')), 'it''s'));\n");
        CHECK(unload() == "rmpath(fullfile(fileparts(mfilename('fullpath')), 'it''s'));\n");
    }
    SECTION("spellings of one dir are written once, relative, with '/'") {
        mip::create_load_and_unload_scripts(
            d, {"src", "./src", "src/", "src/../src", (d / "src").string(), ".", "./", d.string()});
        CHECK(load() == add_line("addpath", "src") + add_line("addpath", "."));
        CHECK(unload() == add_line("rmpath", ".") + add_line("rmpath", "src"));
    }
    SECTION("an empty list gives empty files, replacing old ones") {
        write_file(d / "load_package.m", "old\n");
        mip::create_load_and_unload_scripts(d, {});
        REQUIRE(fs::exists(d / "load_package.m"));
        REQUIRE(fs::exists(d / "unload_package.m"));
        CHECK(load().empty());
        CHECK(unload().empty());
    }
    CHECK(tree(d) == V{"load_package.m", "unload_package.m"});  // no temp files
}

TEST_CASE("create_load_and_unload_scripts refuses a dir outside the package", "[helpers]") {
    TempDir tmp;
    auto d = tmp / "pkg.dir";
    fs::create_directories(d);
    fs::create_directories(tmp / "sibling");
    auto dir = GENERATE(std::string(".."), std::string("../sibling"), std::string("src/../../x"),
                        std::string("/etc"), (fs::path("..") / "pkg.dir-other").string());
    INFO(dir);
    REQUIRE_THROWS_AS(mip::create_load_and_unload_scripts(d, {"src", dir}), mip::SpecError);
    CHECK(tree(d).empty());  // nothing written
}

// --- generate_recursive_subdir_list ---

TEST_CASE("generate_recursive_subdir_list lists every directory below base, pruned and sorted",
          "[helpers]") {
    TempDir tmp;
    auto d = tmp / "pkg.dir";
    for (const char* dir :
         {"pkg/a/b", "pkg/a-b", "pkg/c", "pkg/private/x", "pkg/+ns/y", "pkg/@cls/z",
          "pkg/.git/objects", "pkg/excluded/e", "pkg/a/excluded", "other/o"}) {
        fs::create_directories(d / dir);
    }
    touch(d / "pkg" / "file.m");
    // '-' (0x2d) sorts before '/' (0x2f): bytewise order of the whole path.
    CHECK(mip::generate_recursive_subdir_list(d, "pkg", {"excluded"}) ==
          V{"pkg/a", "pkg/a-b", "pkg/a/b", "pkg/c"});
    CHECK(mip::generate_recursive_subdir_list(d, d / "pkg", {"excluded"}) ==
          V{"pkg/a", "pkg/a-b", "pkg/a/b", "pkg/c"});
    CHECK(mip::generate_recursive_subdir_list(d, "pkg") == V{"pkg/a", "pkg/a-b", "pkg/a/b",
                                                             "pkg/a/excluded", "pkg/c",
                                                             "pkg/excluded", "pkg/excluded/e"});
    CHECK(mip::generate_recursive_subdir_list(d, ".", {"pkg"}) == V{"other", "other/o"});
    CHECK(mip::generate_recursive_subdir_list(d, "pkg/c").empty());
}

// --- strip_prebuilt_binaries ---

TEST_CASE("strip_prebuilt_binaries removes MEX always and built objects only when compiled",
          "[helpers]") {
    TempDir tmp;
    auto d = tmp / "pkg.dir";
    const V mex = {"a.mexa64", "c.mexw64", "d.mexmaci64", "e.mexmaca64",
                   "f.mexglx", "g.mexmac", "h.mexw32",    "sub/B.MEXA64"};
    const V built = {"lib/libx.a", "lib/libx.so", "lib/libx.so.1", "lib/libx.so.1.2", "m.mex",
                     "n.oct",      "tool.exe",    "w.lib",         "x.dll",           "y.o",
                     "z.obj",      "z.dylib",     "up/X.DLL"};
    const V kept = {"data.mat",      "f.m",       "keep/k.mexa64", "notes.so.txt",
                    "src/mexfile.c", "libso.sol", "o.obj.txt"};
    for (const auto& f : mex) {
        touch(d / f);
    }
    for (const auto& f : built) {
        touch(d / f);
    }
    for (const auto& f : kept) {
        touch(d / f);
    }
    auto sorted = [](V v) {
        std::sort(v.begin(), v.end());
        return v;
    };
    auto files_left = [&]() {
        V out;
        for (const auto& e : tree(d)) {
            if (fs::is_regular_file(d / e)) {
                out.push_back(e);
            }
        }
        return out;
    };

    SECTION("not compiled: MEX files only, case-insensitive, keep honoured") {
        auto removed = mip::strip_prebuilt_binaries(d, false, {"keep/k.mexa64"});
        CHECK(removed == sorted(mex));
        V left = built;
        left.insert(left.end(), kept.begin(), kept.end());
        CHECK(files_left() == sorted(left));
    }
    SECTION("compiled: also objects and shared libraries") {
        auto removed = mip::strip_prebuilt_binaries(d, true, {"keep/k.mexa64"});
        V all = mex;
        all.insert(all.end(), built.begin(), built.end());
        CHECK(removed == sorted(all));
        CHECK(files_left() == sorted(kept));
    }
    SECTION("without keep, the kept MEX goes too") {
        auto removed = mip::strip_prebuilt_binaries(d, false);
        CHECK(std::find(removed.begin(), removed.end(), "keep/k.mexa64") != removed.end());
        CHECK_FALSE(fs::exists(d / "keep" / "k.mexa64"));
    }
}

// --- expand_addpaths ---

TEST_CASE("expand_addpaths expands recursive items to dirs holding .m files", "[helpers]") {
    TempDir tmp;
    auto d = tmp / "pkg.dir";
    touch(d / "top.m");
    touch(d / "src" / "a.m");
    touch(d / "src" / "sub" / "b.m");
    write_file(d / "src" / "sub" / "empty" / "data.txt", "no m file here\n");
    touch(d / "src" / "sub" / "empty" / "deeper" / "c.m");
    touch(d / "src" / "private" / "p.m");
    touch(d / "src" / "+ns" / "n.m");
    touch(d / "src" / "@cls" / "m.m");
    touch(d / "src" / ".git" / "g.m");
    touch(d / "src" / "tests" / "t.m");
    touch(d / "src" / "sub" / "tests" / "t.m");
    touch(d / "src" / "upper" / "U.M");  // not ".m"
    using mip::AddPath;

    CHECK(mip::expand_addpaths(d, {AddPath{"src", true, {"tests"}}}) ==
          V{"src", "src/sub", "src/sub/empty/deeper"});
    CHECK(mip::expand_addpaths(d, {AddPath{"src", true, {}}}) ==
          V{"src", "src/sub", "src/sub/empty/deeper", "src/sub/tests", "src/tests"});
    CHECK(mip::expand_addpaths(d, {AddPath{"src", false, {}}}) == V{"src"});
    // The item itself is kept even without .m files of its own.
    CHECK(mip::expand_addpaths(d, {AddPath{"src/sub/empty", true, {}}}) ==
          V{"src/sub/empty", "src/sub/empty/deeper"});
    // Duplicates dropped, first occurrence wins; "" and "./" mean the root.
    CHECK(mip::expand_addpaths(d, {AddPath{".", false, {}}, AddPath{"src/sub", false, {}},
                                   AddPath{"./src/", true, {"tests", "empty"}},
                                   AddPath{"", false, {}}, AddPath{"src/sub/", false, {}}}) ==
          V{".", "src/sub", "src"});

    SECTION("a missing path is a SpecError naming addpaths[i]") {
        try {
            (void)mip::expand_addpaths(d, {AddPath{"src", false, {}}, AddPath{"nope", false, {}}});
            FAIL("no exception");
        } catch (const mip::SpecError& e) {
            REQUIRE(e.issues().size() == 1);
            CHECK(e.issues()[0].field == "addpaths[1]");
            CHECK(e.issues()[0].message.find("nope") != std::string::npos);
        }
    }
    SECTION("a path outside the package is refused even when it exists") {
        fs::create_directories(tmp / "x");
        touch(tmp / "x" / "evil.m");
        auto p = GENERATE(std::string("../x"), std::string("src/../../x"), std::string(".."),
                          (fs::path("/") / "etc").string());
        INFO(p);
        try {
            (void)mip::expand_addpaths(d, {AddPath{p, true, {}}});
            FAIL("no exception");
        } catch (const mip::SpecError& e) {
            REQUIRE(e.issues().size() == 1);
            CHECK(e.issues()[0].field == "addpaths[0]");
        }
    }
}

// --- host_platform_tag ---

TEST_CASE("host_platform_tag: override wins, invalid override refused, host detected",
          "[helpers]") {
    CHECK(mip::host_platform_tag("linux_aarch64") == "linux_aarch64");
    CHECK(mip::host_platform_tag("macos_arm64") == "macos_arm64");
    auto bad = GENERATE(std::string("linux-x86_64"), std::string("linux x86"), std::string("../x"),
                        std::string("_lead"));
    INFO(bad);
    REQUIRE_THROWS_AS(mip::host_platform_tag(bad), mip::SpecError);
#if defined(__linux__) && defined(__x86_64__)
    CHECK(mip::host_platform_tag() == "linux_x86_64");
    CHECK(mip::host_platform_tag("") == "linux_x86_64");
#elif defined(__linux__) && defined(__aarch64__)
    CHECK(mip::host_platform_tag() == "linux_aarch64");
#endif
}

// --- clone_repository_and_remove_git ---

namespace {

constexpr std::int64_t date1 = 1700000000;
constexpr std::int64_t date2 = 1700000100;
constexpr std::int64_t date3 = 1700000200;

/// Runs git in `cwd` with an isolated config and fixed dates; returns trimmed stdout.
std::string git(const fs::path& cwd, const fs::path& home, std::int64_t date, V args) {
    mip::detail::ProcessOptions o;
    o.argv = {"git",
              "-c",
              "user.name=Mip Test",
              "-c",
              "user.email=mip-test@example.org",
              "-c",
              "init.defaultBranch=trunk",
              "-c",
              "tag.gpgSign=false",
              "-c",
              "commit.gpgSign=false"};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.cwd = cwd;
    auto stamp = "@" + std::to_string(date) + " +0000";
    o.env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"},
             {"HOME", home.string()},
             {"GIT_CONFIG_NOSYSTEM", "1"},
             {"GIT_CONFIG_GLOBAL", "/dev/null"},
             {"GIT_AUTHOR_DATE", stamp},
             {"GIT_COMMITTER_DATE", stamp},
             {"LC_ALL", "C"},
             {"TZ", "UTC"}};
    o.separate_stderr = true;
    auto r = mip::detail::run_process(o);
    INFO("git output: " << r.output << r.err);
    REQUIRE(r.ok());
    auto out = r.output;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
        out.pop_back();
    }
    return out;
}

struct Repo {
    fs::path dir;
    std::string commit1;  // tagged v1 and v1-annotated
    std::string commit2;  // trunk (the default branch)
    std::string commit3;  // branch feature
};

Repo make_repo(const fs::path& parent) {
    Repo r;
    r.dir = parent / "upstream";
    fs::create_directories(r.dir);
    auto home = parent / "home";
    fs::create_directories(home);
    (void)git(r.dir, home, date1, {"init", "-q"});
    touch(r.dir / "a.m");
    touch(r.dir / "sub" / "b.m");
    (void)git(r.dir, home, date1, {"add", "-A"});
    (void)git(r.dir, home, date1, {"commit", "-q", "-m", "one"});
    (void)git(r.dir, home, date1, {"tag", "v1"});
    (void)git(r.dir, home, date1, {"tag", "-a", "v1-annotated", "-m", "annotated"});
    touch(r.dir / "c.m");
    (void)git(r.dir, home, date2, {"add", "-A"});
    (void)git(r.dir, home, date2, {"commit", "-q", "-m", "two"});
    (void)git(r.dir, home, date3, {"checkout", "-q", "-b", "feature"});
    touch(r.dir / "d.m");
    (void)git(r.dir, home, date3, {"add", "-A"});
    (void)git(r.dir, home, date3, {"commit", "-q", "-m", "three"});
    (void)git(r.dir, home, date3, {"checkout", "-q", "trunk"});
    r.commit1 = git(r.dir, home, date1, {"rev-parse", "v1^{commit}"});
    r.commit2 = git(r.dir, home, date1, {"rev-parse", "trunk"});
    r.commit3 = git(r.dir, home, date1, {"rev-parse", "feature"});
    REQUIRE(r.commit1.size() == 40);
    REQUIRE(r.commit1 != r.commit2);
    return r;
}

bool has_git_entry(const fs::path& dir) {
    for (const auto& e : tree(dir)) {
        auto name = fs::path(e).filename();
        if (name == ".git") {
            return true;
        }
    }
    return false;
}

}  // namespace

TEST_CASE("clone_repository_and_remove_git clones a ref, pins its commit and drops .git",
          "[helpers][git]") {
    TempDir tmp;
    auto repo = make_repo(tmp.path());
    const auto url = "file://" + repo.dir.string();

    struct Case {
        std::optional<std::string> ref;
        std::string commit;
        std::int64_t time;
        V entries;
    };
    const V at1 = {"a.m", "sub", "sub/b.m"};
    const V at2 = {"a.m", "c.m", "sub", "sub/b.m"};
    const V at3 = {"a.m", "c.m", "d.m", "sub", "sub/b.m"};
    auto c = GENERATE_COPY(
        Case{std::nullopt, repo.commit2, date2, at2}, Case{"v1", repo.commit1, date1, at1},
        Case{"v1-annotated", repo.commit1, date1, at1}, Case{"feature", repo.commit3, date3, at3},
        Case{repo.commit1, repo.commit1, date1, at1});
    INFO("ref " << c.ref.value_or("(default branch)"));
    auto target = tmp / "clones" / "pkg";
    mip::CloneOptions o;
    o.ref = c.ref;
    auto result = mip::clone_repository_and_remove_git(url, target, o);
    CHECK(result.commit == c.commit);
    CHECK(result.commit_time == c.time);
    CHECK(tree(target) == c.entries);
    CHECK_FALSE(has_git_entry(target));
    CHECK(mip::test::read_file(target / "a.m") == "% a.m\n");
}

TEST_CASE("clone_repository_and_remove_git refuses a non-empty target and cleans up failures",
          "[helpers][git]") {
    TempDir tmp;
    auto repo = make_repo(tmp.path());
    const auto url = "file://" + repo.dir.string();

    SECTION("an existing empty directory is fine") {
        fs::create_directories(tmp / "empty");
        auto r = mip::clone_repository_and_remove_git(url, tmp / "empty");
        CHECK(r.commit == repo.commit2);
        CHECK(fs::exists(tmp / "empty" / "c.m"));
    }
    SECTION("a non-empty target is a SpecError and is left alone") {
        write_file(tmp / "busy" / "keep.txt", "mine\n");
        REQUIRE_THROWS_AS(mip::clone_repository_and_remove_git(url, tmp / "busy"), mip::SpecError);
        CHECK(tree(tmp / "busy") == V{"keep.txt"});
        CHECK(mip::test::read_file(tmp / "busy" / "keep.txt") == "mine\n");
    }
    SECTION("an unknown ref fails and leaves no partial clone") {
        mip::CloneOptions o;
        o.ref = "no-such-branch";
        REQUIRE_THROWS_AS(mip::clone_repository_and_remove_git(url, tmp / "bad", o), mip::Error);
        CHECK_FALSE(fs::exists(tmp / "bad"));
    }
    SECTION("an unknown commit fails and leaves no partial clone") {
        mip::CloneOptions o;
        o.ref = std::string(40, 'a');
        REQUIRE_THROWS_AS(mip::clone_repository_and_remove_git(url, tmp / "bad", o), mip::Error);
        CHECK_FALSE(fs::exists(tmp / "bad"));
    }
}

// --- download_and_extract_zip ---

namespace {

struct ZipItem {
    std::string name;
    std::string data;
    std::uint32_t mode = 0100644;  ///< Unix st_mode stored in the external attributes
};

/// Writes a zip with exactly these entry names (libzip stores names as given, so unsafe names
/// can be crafted). Directory entries end in '/'.
void make_zip(const fs::path& path, const std::vector<ZipItem>& items) {
    int err = 0;
    zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    REQUIRE(z != nullptr);
    for (const auto& item : items) {
        zip_int64_t idx = -1;
        if (!item.name.empty() && item.name.back() == '/') {
            idx = zip_dir_add(z, item.name.c_str(), ZIP_FL_ENC_RAW);
        } else {
            zip_source_t* src = zip_source_buffer(z, item.data.data(), item.data.size(), 0);
            REQUIRE(src != nullptr);
            idx = zip_file_add(z, item.name.c_str(), src, ZIP_FL_ENC_RAW);
            if (idx < 0) {
                zip_source_free(src);
            }
        }
        INFO("entry " << item.name << ": " << zip_strerror(z));
        REQUIRE(idx >= 0);
        auto index = static_cast<zip_uint64_t>(idx);
        REQUIRE(zip_file_set_external_attributes(z, index, 0, ZIP_OPSYS_UNIX, item.mode << 16) ==
                0);
    }
    INFO(zip_strerror(z));
    REQUIRE(zip_close(z) == 0);
}

/// `file://` URL of an absolute path, percent-encoding bytes outside the unreserved set.
std::string file_url(const fs::path& p) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string url = "file://";
    for (char ch : p.string()) {
        auto c = static_cast<unsigned char>(ch);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
            url += ch;
        } else {
            url += '%';
            url += hex[c >> 4];
            url += hex[c & 15];
        }
    }
    return url;
}

}  // namespace

TEST_CASE("download_and_extract_zip fetches a file:// archive, checks and extracts it",
          "[helpers][zip]") {
    REQUIRE(mip::detail::sha256_hex("abc") ==
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    TempDir tmp;
    auto archive = tmp / "archive dir" / "pkg-main.zip";
    fs::create_directories(archive.parent_path());
    make_zip(archive, {{"pkg-main/", "", 040755},
                       {"pkg-main/a.m", "function a\nend\n"},
                       {"pkg-main/sub/b.m", "function b\nend\n"},
                       {"pkg-main/run.sh", "#!/bin/sh\necho hi\n", 0100755},
                       {"pkg-main/secret.txt", "private\n", 0100600}});
    const auto digest = mip::detail::sha256_hex(mip::test::read_file(archive));
    auto target = tmp / "work" / "pkg.dir";

    SECTION("top folder kept; digest returned; modes normalised") {
        auto got = mip::download_and_extract_zip(file_url(archive), target);
        CHECK(got == digest);
        CHECK(tree(target) == V{"pkg-main", "pkg-main/a.m", "pkg-main/run.sh",
                                "pkg-main/secret.txt", "pkg-main/sub", "pkg-main/sub/b.m"});
        CHECK(mip::test::read_file(target / "pkg-main" / "sub" / "b.m") == "function b\nend\n");
        CHECK(mode_of(target / "pkg-main" / "a.m") == 0644);
        CHECK(mode_of(target / "pkg-main" / "run.sh") == 0755);
        CHECK(mode_of(target / "pkg-main" / "secret.txt") == 0644);
        CHECK(tree(tmp / "archive dir") == V{"pkg-main.zip"});  // nothing left beside the source
    }
    SECTION("the expected sha256 matches") {
        mip::DownloadOptions o;
        o.sha256 = digest;
        CHECK(mip::download_and_extract_zip(file_url(archive), target, o) == digest);
        CHECK(fs::exists(target / "pkg-main" / "a.m"));
    }
    SECTION("strip_top_level") {
        mip::DownloadOptions o;
        o.strip_top_level = true;
        (void)mip::download_and_extract_zip(file_url(archive), target, o);
        CHECK(tree(target) == V{"a.m", "run.sh", "secret.txt", "sub", "sub/b.m"});
    }
    SECTION("a wrong sha256 fails before anything is extracted") {
        mip::DownloadOptions o;
        o.sha256 = std::string(64, '0');
        REQUIRE_THROWS_AS(mip::download_and_extract_zip(file_url(archive), target, o),
                          mip::SpecError);
        CHECK(tree(target).empty());
        CHECK(tree(tmp / "work").empty());
    }
    SECTION("strip_top_level with several top-level entries is an ArchiveError") {
        auto two = tmp / "two.zip";
        make_zip(two, {{"one/a.m", "a"}, {"two/b.m", "b"}});
        mip::DownloadOptions o;
        o.strip_top_level = true;
        REQUIRE_THROWS_AS(mip::download_and_extract_zip(file_url(two), target, o),
                          mip::ArchiveError);
        CHECK(tree(target).empty());
    }
    SECTION("a missing file is an error and extracts nothing") {
        REQUIRE_THROWS_AS(mip::download_and_extract_zip(file_url(tmp / "absent.zip"), target),
                          mip::Error);
        CHECK(tree(target).empty());
    }
    SECTION("unsupported schemes are refused") {
        REQUIRE_THROWS_AS(mip::download_and_extract_zip("ftp://example.org/x.zip", target),
                          mip::SpecError);
        CHECK(tree(target).empty());
    }
}

TEST_CASE("download_and_extract_zip refuses unsafe entries before writing anything",
          "[helpers][zip]") {
    TempDir tmp;
    // The target is nested so that an escape of up to three levels would stay in the temp dir;
    // the absolute entry also points into the temp dir.
    auto target = tmp / "l1" / "l2" / "target";
    const auto absolute = (tmp / "abs_evil.m").string();
    auto bad =
        GENERATE_COPY(std::string("../evil.m"), std::string("../../evil2.m"),
                      std::string("good/../../../evil3.m"), std::string("..\\evil4.m"), absolute,
                      std::string("C:/evil5.m"), std::string("ok/./x.m"), std::string("a//b.m"),
                      std::string("tab\t.m"), std::string("new\nline.m"));
    INFO("entry '" << bad << "'");
    auto archive = tmp / "evil.zip";
    make_zip(archive, {{"good.m", "fine"}, {bad, "evil"}, {"late.m", "fine"}});
    REQUIRE_THROWS_AS(mip::download_and_extract_zip(file_url(archive), target), mip::ArchiveError);
    CHECK(tree(tmp.path()) == V{"evil.zip"});  // not even the target was created
}

TEST_CASE("download_and_extract_zip refuses symlink entries", "[helpers][zip]") {
    TempDir tmp;
    auto target = tmp / "target";
    auto archive = tmp / "link.zip";
    make_zip(archive,
             {{"pkg/a.m", "fine"}, {"pkg/link", "/etc/passwd", 0120777}, {"pkg/z.m", "fine"}});
    REQUIRE_THROWS_AS(mip::download_and_extract_zip(file_url(archive), target), mip::ArchiveError);
    CHECK(tree(tmp.path()) == V{"link.zip"});
}

// libzip's ZIP_FL_ENC_GUESS reads a name with a control byte as CP437 (0x01 becomes U+263A), so
// the guard must check the stored bytes: the entry is refused, not extracted under a new name.
TEST_CASE("an entry name with a control byte is refused, not renamed", "[helpers][zip]") {
    TempDir tmp;
    auto target = tmp / "target";
    auto archive = tmp / "ctl.zip";
    make_zip(archive, {{"good.m", "fine"}, {"ctl\x01.m", "evil"}});
    CHECK_THROWS_AS(mip::download_and_extract_zip(file_url(archive), target), mip::ArchiveError);
    CHECK(tree(tmp.path()) == V{"ctl.zip"});
}

// Regression: every component of an entry's parent below the destination is checked for a
// pre-existing symlink, not only the last one. A symlinked *directory* already in the target
// (e.g. committed in a repository cloned there earlier by a `multiple` source) must not be
// followed, or the entry would land outside the target (is_within() alone is lexical).
TEST_CASE("extraction never writes through a symlinked directory already in the target",
          "[helpers][zip]") {
    TempDir tmp;
    auto target = tmp / "target";
    auto outside = tmp / "outside";
    fs::create_directories(target);
    fs::create_directories(outside);
    fs::create_directory_symlink(outside, target / "link");
    auto archive = tmp / "through.zip";
    make_zip(archive, {{"link/planted.m", "evil"}});
    try {
        (void)mip::download_and_extract_zip(file_url(archive), target);
    } catch (const mip::ArchiveError&) {
        // refusing the archive is fine
    }
    CHECK(tree(outside).empty());
}
