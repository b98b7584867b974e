// prepare.yaml as the real mip-core recipes write it (issue 12): nested addpaths, disabled builds,
// `path: ..`, `version: unspecified` kept, source mirrors for zips and git clones.
#include <algorithm>
#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

#include <mip/error.hpp>
#include <mip/package_spec.hpp>
#include <mip/preparer.hpp>
#include <mip/source_mirror.hpp>

#include "detail/json.hpp"
#include "detail/lock.hpp"
#include "test_support.hpp"

using namespace mip;
using mip::test::TempDir;
using mip::test::write_file;
namespace fs = std::filesystem;

namespace {

/// A Preparer's two option blocks, set up for a recipes dir under `tmp`.
struct Setup {
    PrepareOptions prepare;
    RunOptions run;
    [[nodiscard]] StageReport run_prepare() const { return Preparer(prepare, run).prepare(); }
};

Setup options_for(const TempDir& tmp) {
    Setup o;
    o.prepare.recipes = tmp / "recipes";
    o.prepare.output_dir = tmp / "build" / "prepared";
    o.prepare.cache_dir = tmp / "build" / "cache";
    auto env = test::environment();
    env.erase("SOURCE_DATE_EPOCH");
    o.run.environment = env;
    return o;
}

void git(const fs::path& repo, const std::string& args) {
    std::string cmd =
        "cd '" + repo.string() +
        "' && GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_DATE='@1700000000 "
        "+0000' GIT_COMMITTER_DATE='@1700000000 +0000' git -c user.name=t "
        "-c user.email=t@x.invalid " +
        args + " >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
}

/// An untagged repository at `<root>/<owner>/<name>` holding toolbox/tb_fn.m.
fs::path upstream_repo(const fs::path& root, const std::string& owner, const std::string& name) {
    auto repo = root / owner / name;
    write_file(repo / "toolbox" / "tb_fn.m", "function tb_fn\nend\n");
    write_file(repo / "toolbox" / "tb_fn.mexa64", "prebuilt\n");
    git(repo, "init -q -b main");
    git(repo, "add -A");
    git(repo, "commit -q -m one");
    return repo;
}

const ItemResult& only_item(const StageReport& r) {
    REQUIRE(r.items.size() == 1);
    return r.items[0];
}

std::string load_script(const ItemResult& item) {
    return test::read_file(fs::path(item.path) / "load_package.m");
}

}  // namespace

TEST_CASE("prepare.addpaths nested under prepare is the canonical schema", "[recipe_yaml]") {
    TempDir tmp;
    write_file(tmp / "recipes" / "nest" / "src" / "a" / "fa.m", "function fa\nend\n");
    write_file(tmp / "recipes" / "nest" / "src" / "a" / "b" / "fb.m", "function fb\nend\n");
    write_file(tmp / "recipes" / "nest" / "src" / "a" / "skip" / "fs.m", "function fs\nend\n");
    write_file(tmp / "recipes" / "nest" / "prepare.yaml", R"(name: nest
version: "1.0"
prepare:
  path:
    path: src
    destination: "nest"
  addpaths:
    - path: "nest/a"
      recursive: true
      exclude: ["skip"]
builds:
  - build_type: standard
    matlab_tag: any
    abi_tag: none
    platform_tag: any)");
    auto item = only_item(options_for(tmp).run_prepare());
    INFO(item.detail);
    REQUIRE(item.status == ItemStatus::done);
    CHECK(load_script(item) ==
          "addpath(fullfile(fileparts(mfilename('fullpath')), 'nest/a'));\n"
          "addpath(fullfile(fileparts(mfilename('fullpath')), 'nest/a/b'));\n");
    auto spec = PackageSpec::load((fs::path(item.path) / "mip.json").string());
    CHECK(spec.exposed_symbols == std::vector<std::string>{"fa", "fb"});
}

TEST_CASE("addpaths at the top level and under prepare at once is an error naming both",
          "[recipe_yaml]") {
    TempDir tmp;
    write_file(tmp / "recipes" / "both" / "src" / "f.m", "function f\nend\n");
    write_file(tmp / "recipes" / "both" / "prepare.yaml",
               "name: both\nversion: '1'\nprepare:\n  path: {path: src, destination: d}\n"
               "  addpaths: [d]\naddpaths: [d]\n");
    auto item = only_item(options_for(tmp).run_prepare());
    CHECK(item.status == ItemStatus::failed);
    CHECK(item.error_code == ErrorCode::invalid_spec);
    CHECK_THAT(item.detail, Catch::Contains("both: both/prepare.yaml") &&
                                Catch::Contains("addpaths") && Catch::Contains("prepare.addpaths"));
    CHECK_FALSE(fs::exists(tmp / "build" / "prepared" / "both-1-any-none-any.dir"));
}

TEST_CASE("a missing nested addpaths entry names prepare.addpaths[i]", "[recipe_yaml]") {
    TempDir tmp;
    write_file(tmp / "recipes" / "gone" / "src" / "f.m", "function f\nend\n");
    write_file(tmp / "recipes" / "gone" / "prepare.yaml",
               "name: gone\nversion: '1'\nprepare:\n  path: {path: src, destination: d}\n"
               "  addpaths: [d, d/nope]\n");
    auto item = only_item(options_for(tmp).run_prepare());
    CHECK(item.status == ItemStatus::failed);
    CHECK_THAT(item.detail, Catch::Contains("gone: prepare.yaml") &&
                                Catch::Contains("prepare.addpaths[1]") &&
                                Catch::Contains("d/nope"));
}

TEST_CASE("builds not selected by BUILD_TYPE are not held to the tag rules", "[recipe_yaml]") {
    TempDir tmp;
    write_file(tmp / "recipes" / "kd" / "src" / "kd_fn.m", "function kd_fn\nend\n");
    write_file(tmp / "recipes" / "kd" / "prepare.yaml", R"(name: kd
version: unspecified
prepare:
  path: {path: src, destination: kd}
  addpaths:
    - path: "kd"
builds:
  - build_type: standard
    platform_tag: any
  - build_type: macosx--disable
    comment: "disabled"
    matlab_tag: any
    abi_tag: none
    platform_tag: macosx
)");
    std::vector<std::string> logged;
    auto o = options_for(tmp);
    o.run.logger =
        Logger([&logged](LogLevel, std::string_view m) { logged.emplace_back(m); }, LogLevel::info);
    auto item = only_item(o.run_prepare());
    INFO(item.detail);
    CHECK(item.status == ItemStatus::done);
    CHECK(item.wheel == "kd-unspecified-any-none-any");
    CHECK(std::any_of(logged.begin(), logged.end(), [](const std::string& m) {
        return m.find("builds[1] (build_type 'macosx--disable') is not selected") !=
               std::string::npos;
    }));

    SECTION("the selected build is still checked") {
        auto o2 = options_for(tmp);
        o2.prepare.build_type = "macosx--disable";
        auto bad = only_item(o2.run_prepare());
        CHECK(bad.status == ItemStatus::failed);
        CHECK_THAT(bad.detail, Catch::Contains("builds[1].platform_tag") &&
                                   Catch::Contains("'macosx' is not a platform tag"));
    }
    SECTION("an unselected build is still checked for known keys") {
        write_file(tmp / "recipes" / "kd" / "prepare.yaml",
                   "name: kd\nversion: '1'\nprepare:\n  path: {path: src, destination: kd}\n"
                   "builds:\n  - build_type: standard\n  - build_type: other\n    platfrom: x\n");
        auto typo = only_item(options_for(tmp).run_prepare());
        CHECK(typo.status == ItemStatus::failed);
        CHECK_THAT(typo.detail, Catch::Contains("builds[1].platfrom"));
    }
}

TEST_CASE("a path source may leave the recipe directory and is hashed and recorded",
          "[recipe_yaml]") {
    TempDir tmp;
    // A package repository with its recipe inside (recipes/pkg) and a build dir inside too.
    auto repo = tmp / "repo";
    write_file(repo / "toolbox" / "rp_fn.m", "function rp_fn\nend\n");
    write_file(repo / "recipes" / "pkg" / "prepare.yaml",
               "name: pkg\nversion: '2.0'\nprepare:\n  path: {path: ../.., destination: pkg}\n"
               "  addpaths: [pkg/toolbox]\n");
    Setup o;
    o.prepare.recipes = repo / "recipes";
    o.prepare.output_dir = repo / "build" / "prepared";
    o.prepare.cache_dir = repo / "build" / "cache";
    o.run.environment = test::environment();
    o.run.source_date_epoch = 1700000000;
    write_file(repo / "build" / "bundled" / "old.mhl", "not a source\n");
    auto item = only_item(o.run_prepare());
    INFO(item.detail);
    REQUIRE(item.status == ItemStatus::done);
    auto dir = fs::path(item.path);
    CHECK(fs::is_regular_file(dir / "pkg" / "toolbox" / "rp_fn.m"));
    CHECK(fs::is_regular_file(dir / "pkg" / "recipes" / "pkg" / "prepare.yaml"));
    CHECK_FALSE(fs::exists(dir / "pkg" / "build"));  // libmip's own output is left out
    auto spec = PackageSpec::load((dir / "mip.json").string());
    auto src = detail::parse_json(spec.source_json, "source");
    CHECK(src["type"] == "path");
    CHECK(src["url"] == "../..");
    CHECK(src["sha256"].get<std::string>().size() == 64);

    SECTION("a change outside the recipe directory is seen by the cache check") {
        auto before = src["sha256"].get<std::string>();
        write_file(repo / "toolbox" / "rp_more.m", "function rp_more\nend\n");
        o.prepare.force = true;
        auto again = only_item(o.run_prepare());
        REQUIRE(again.status == ItemStatus::done);
        auto spec2 = PackageSpec::load((fs::path(again.path) / "mip.json").string());
        CHECK(detail::parse_json(spec2.source_json, "source")["sha256"] != before);
    }
}

TEST_CASE("version unspecified stays unspecified with a git source", "[recipe_yaml][git]") {
    TempDir tmp;
    auto repo = upstream_repo(tmp / "up", "o", "kdt");
    auto recipe = [&](const std::string& version_line) {
        write_file(tmp / "recipes" / "kdt" / "prepare.yaml",
                   "name: kdt\n" + version_line + "prepare:\n  clone_git:\n    url: \"" +
                       repo.string() +
                       "\"\n    destination: kdt\n  addpaths:\n    - path: kdt/toolbox\n");
    };
    SECTION("explicit unspecified: kept; describe recorded") {
        recipe("version: unspecified\n");
        auto item = only_item(options_for(tmp).run_prepare());
        INFO(item.detail);
        REQUIRE(item.status == ItemStatus::done);
        CHECK(item.wheel == "kdt-unspecified-any-none-any");
        auto spec = PackageSpec::load((fs::path(item.path) / "mip.json").string());
        auto src = detail::parse_json(spec.source_json, "source");
        CHECK(src["type"] == "git");
        CHECK(src["describe"].get<std::string>().rfind("0.0-0-g", 0) == 0);
        auto work = tmp / "build" / "prepared" / "kdt-unspecified-any-none-any.work";
        auto lock = detail::parse_lock(test::read_file(work / "mip.lock.yaml"), "lock");
        CHECK(lock["package"]["version_source"] == "unspecified");
        CHECK_FALSE(fs::exists(fs::path(item.path) / "kdt" / "toolbox" / "tb_fn.mexa64"));
    }
    SECTION("absent: derived from git describe") {
        recipe("");
        auto item = only_item(options_for(tmp).run_prepare());
        INFO(item.detail);
        REQUIRE(item.status == ItemStatus::done);
        CHECK_THAT(item.wheel, Catch::StartsWith("kdt-0.0_0_g"));
    }
}

TEST_CASE(
    "source mirrors: zips and git clones are fetched from the mirror, recorded as the original",
    "[recipe_yaml][git][mirror]") {
    TempDir tmp;
    // The "network": a git repository and a zip only reachable through the mirrors.
    auto mirror_root = tmp / "mirror";
    upstream_repo(mirror_root / "github", "owner", "tool");
    write_file(tmp / "zipsrc" / "z-1.0" / "z_fn.m", "function z_fn\nend\n");
    fs::create_directories(mirror_root / "files");
    REQUIRE(std::system(("cd '" + (tmp / "zipsrc").string() + "' && zip -q -r '" +
                         (mirror_root / "files" / "z.zip").string() + "' z-1.0")
                            .c_str()) == 0);
    write_file(tmp / "recipes" / "tool" / "prepare.yaml",
               "name: tool\nversion: unspecified\nprepare:\n  clone_git:\n"
               "    url: \"https://github.com/owner/tool\"\n    destination: tool\n"
               "  addpaths: [tool/toolbox]\n");
    write_file(tmp / "recipes" / "zp" / "prepare.yaml",
               "name: zp\nversion: '1.0'\nprepare:\n  download_zip:\n"
               "    url: \"https://downloads.example.org/releases/z.zip\"\n"
               "    destination: z\n  addpaths: [z/z-1.0]\n");
    auto o = options_for(tmp);
    o.prepare.source_mirror = {
        SourceMirror::parse("https://github.com/=file://" + (mirror_root / "github").string() +
                            "/"),
        SourceMirror::parse("https://downloads.example.org/=file:///nonexistent/"),
        SourceMirror::parse("https://downloads.example.org/releases/=file://" +
                            (mirror_root / "files").string() + "/")};
    auto report = o.run_prepare();
    REQUIRE(report.items.size() == 2);
    for (const auto& item : report.items) {
        INFO(item.detail);
        REQUIRE(item.status == ItemStatus::done);
    }
    auto prepared = tmp / "build" / "prepared";
    auto tool =
        PackageSpec::load((prepared / "tool-unspecified-any-none-any.dir" / "mip.json").string());
    CHECK(detail::parse_json(tool.source_json, "s")["url"] == "https://github.com/owner/tool");
    CHECK(tool.exposed_symbols == std::vector<std::string>{"tb_fn"});
    auto lock = detail::parse_lock(
        test::read_file(prepared / "tool-unspecified-any-none-any.work" / "mip.lock.yaml"), "lock");
    REQUIRE(lock["source_mirrors"].size() == 1);
    CHECK(lock["source_mirrors"][0]["url"] == "https://github.com/owner/tool");
    CHECK(lock["source_mirrors"][0]["fetched_from"] ==
          "file://" + (mirror_root / "github" / "owner" / "tool").string());
    CHECK(lock["sources"][0]["url"] == "https://github.com/owner/tool");
    auto zp = PackageSpec::load((prepared / "zp-1.0-any-none-any.dir" / "mip.json").string());
    CHECK(detail::parse_json(zp.source_json, "s")["url"] ==
          "https://downloads.example.org/releases/z.zip");  // the longest prefix won
    CHECK(zp.exposed_symbols == std::vector<std::string>{"z_fn"});
    auto info = detail::parse_json(
        test::read_file(prepared / "zp-1.0-any-none-any.work" / "build_info.json"), "bi");
    CHECK(info["source_mirrors"][0]["fetched_from"] ==
          "file://" + (mirror_root / "files" / "z.zip").string());
}

TEST_CASE("SourceMirror parses FROM=TO and the longest prefix wins", "[mirror]") {
    auto m = SourceMirror::parse("https://github.com/=file:///srv/gh/");
    CHECK(m.original == "https://github.com/");
    CHECK(m.mirror == "file:///srv/gh/");
    CHECK(SourceMirror::parse("a=b=c").mirror == "b=c");
    for (const char* bad : {"", "=x", "x=", "no-equals", "a b=c"}) {
        INFO(bad);
        CHECK_THROWS_AS(SourceMirror::parse(bad), SpecError);
    }
    auto list = parse_source_mirrors("  https://a/=m1/ \n https://a/b/=m2/\thttps://a/=m3/ ");
    REQUIRE(list.size() == 3);
    CHECK(format_source_mirrors(list) == "https://a/=m1/ https://a/b/=m2/ https://a/=m3/");
    CHECK(mirror_url("https://a/b/c.zip", list) == "m2/c.zip");
    CHECK(mirror_url("https://a/x", list) == "m3/x");  // of equal prefixes, the last one
    CHECK_FALSE(mirror_url("https://z/x", list).has_value());
    CHECK(parse_source_mirrors("   ").empty());
    CHECK_THROWS_AS(parse_source_mirrors("ok=fine broken"), SpecError);
}

TEST_CASE("pass_env refuses credentials and invalid names before anything runs", "[recipe_yaml]") {
    TempDir tmp;
    write_file(tmp / "recipes" / "p" / "src" / "f.m", "function f\nend\n");
    write_file(tmp / "recipes" / "p" / "prepare.yaml",
               "name: p\nversion: '1'\nprepare:\n  path: {path: src, destination: d}\n");
    auto o = options_for(tmp);
    o.run.pass_env = {"MY_OK_VAR", "AWS_SECRET_ACCESS_KEY", "1BAD"};
    try {
        (void)o.run_prepare();
        FAIL("no SpecError");
    } catch (const SpecError& e) {
        CHECK(e.subject() == "--pass-env");
        REQUIRE(e.issues().size() == 2);
        CHECK(e.issues()[0].field == "AWS_SECRET_ACCESS_KEY");
        CHECK_THAT(e.issues()[0].message, Catch::Contains("credential"));
        CHECK(e.issues()[1].field == "1BAD");
    }
    CHECK_FALSE(fs::exists(tmp / "build" / "prepared"));
}
