// The current mip format's pure rules (detail/current_format.hpp, detail/package_layout.hpp):
// archive names, entry names, the client's install layout, version order, paths recovered from
// a generated load_package.m, mip.json's fields and order.
#include <catch2/catch.hpp>

#include <mip/error.hpp>
#include <mip/helpers.hpp>

#include "detail/current_format.hpp"
#include "detail/fs.hpp"
#include "detail/package_layout.hpp"
#include "test_support.hpp"

using namespace mip;
using mip::test::TempDir;
namespace fs = std::filesystem;

TEST_CASE("current archive names write '-' in the name as '_'", "[current_format]") {
    CHECK(detail::current_archive_stem("gui-layout-toolbox", "2.4.2", "any") ==
          "gui_layout_toolbox-2.4.2-any");
    CHECK(detail::current_archive_stem("kdtree", "master", "linux_x86_64") ==
          "kdtree-master-linux_x86_64");
    CHECK(detail::current_entry_name("aabb-tree", "sub/f.m") == "aabb-tree/sub/f.m");
}

TEST_CASE("the client installs under packages/gh/<owner>/<channel>/<name>", "[current_format]") {
    auto dir = detail::current_install_dir("/r", "mip-org", "core", "kdtree");
    CHECK(dir == fs::path("/r/packages/gh/mip-org/core/kdtree"));
    CHECK(detail::current_path_dir(dir, "kdtree", ".") == dir / "kdtree");
    CHECK(detail::current_path_dir(dir, "kdtree", "toolbox") == dir / "kdtree" / "toolbox");
}

TEST_CASE("numeric versions compare part by part as integers", "[current_format]") {
    CHECK(detail::compare_versions("1.10.0", "1.9.9") > 0);
    CHECK(detail::compare_versions("2.9", "2.10") < 0);
    CHECK(detail::compare_versions("1.0", "1.0.0") == 0);
    CHECK(detail::compare_versions("007", "7") == 0);
    CHECK(detail::compare_versions("main", "master") < 0);
}

TEST_CASE("paths come from the record, else from a generated load_package.m", "[current_format]") {
    TempDir tmp;
    fs::create_directories(tmp.path() / "it's" / "deep");
    create_load_and_unload_scripts(tmp.path(), {".", "it's/deep"});
    PackageSpec spec;
    spec.name = "p";
    CHECK(detail::current_paths(spec, tmp.path()) == std::vector<std::string>{".", "it's/deep"});
    spec.extra_fields.emplace_back("paths", R"(["toolbox"])");
    CHECK(detail::current_paths(spec, tmp.path()) == std::vector<std::string>{"toolbox"});
    spec.extra_fields.clear();
    detail::write_file_atomic(tmp.path() / "load_package.m", "run(fullfile(pwd, 'evil.m'));\n",
                              false);
    REQUIRE_THROWS_AS(detail::current_paths(spec, tmp.path()), SpecError);
}

TEST_CASE("mip.json of the current format has the spec's fields in order", "[current_format]") {
    PackageSpec spec;
    spec.name = "kdtree";
    spec.version = "master";
    spec.platform_tag = "linux_x86_64";
    spec.compile_script = "compile.m";
    spec.extra_fields.emplace_back("extra_paths", R"({"demos":["demos"]})");
    spec.extra_fields.emplace_back("commit_hash", R"("abc")");
    auto j = detail::current_mip_json(spec, {"toolbox"}, "2024-01-01T00:00:00Z");
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) {
        keys.push_back(it.key());
    }
    CHECK(keys == std::vector<std::string>{"name", "version", "description", "architecture",
                                           "dependencies", "paths", "extra_paths", "license",
                                           "homepage", "repository", "install_type", "timestamp",
                                           "compile_script", "commit_hash"});
    CHECK(j["architecture"] == "linux_x86_64");
    CHECK(j["extra_paths"]["demos"][0] == "demos");
}

TEST_CASE("the current layout puts files under <name>/ and drops the load scripts",
          "[current_format]") {
    const auto& layout = detail::package_layout("mip");
    PackageSpec spec;
    spec.name = "a-b";
    spec.version = "1.0";
    CHECK(layout.archive_stem(spec) == "a_b-1.0-any");
    CHECK(layout.entry_name(spec, "mip.json") == std::optional<std::string>("mip.json"));
    CHECK(layout.entry_name(spec, "load_package.m") == std::nullopt);
    CHECK(layout.entry_name(spec, "x/y.m") == std::optional<std::string>("a-b/x/y.m"));
    CHECK(detail::package_layout("r2").entry_name(spec, "load_package.m") ==
          std::optional<std::string>("load_package.m"));
    REQUIRE_THROWS_AS(detail::package_layout("conda"), SpecError);
    REQUIRE_THROWS_AS(detail::require_r2_format("mip", "upload"), SpecError);
}
