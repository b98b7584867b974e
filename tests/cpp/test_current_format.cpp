// The current mip format's pure rules (detail/current_format.hpp, detail/package_layout.hpp):
// archive names, entry names, the client's install layout, version order, paths recovered from
// a generated load_package.m, mip.json's fields and order.
#include <catch2/catch.hpp>

#include <mip/error.hpp>
#include <mip/helpers.hpp>

#include "detail/current_format.hpp"
#include "detail/current_index.hpp"
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
}

namespace {

detail::Json sidecar(const std::string& name, const std::string& version, const std::string& arch) {
    detail::Json j = detail::Json::object();
    j["name"] = name;
    j["version"] = version;
    j["architecture"] = arch;
    j["timestamp"] = "2024-01-01T00:00:00Z";
    j["mhl_url"] = "https://pkgs.example.org/core/sha256/00/" +
                   detail::current_archive_stem(name, version, arch) + ".mhl";
    return j;
}

std::vector<std::string> listed(const detail::Json& doc) {
    std::vector<std::string> out;
    for (const auto& e : doc["packages"]) {
        out.push_back(e["name"].get<std::string>() + " " + e["version"].get<std::string>() + " " +
                      e["architecture"].get<std::string>());
    }
    return out;
}

}  // namespace

TEST_CASE("the channel index sorts by lowercased name, numeric version, architecture",
          "[current_format]") {
    detail::CurrentIndexOptions o;
    o.channel = "mip-org/core";
    o.base_url = "https://pkgs.example.org/core/";
    o.last_updated = "2024-01-02T00:00:00Z";
    auto idx = detail::build_current_index(
        {sidecar("zeta", "1.0", "any"), sidecar("Alpha", "1.10", "any"),
         sidecar("Alpha", "1.9", "linux_x86_64"), sidecar("Alpha", "1.9", "any"),
         sidecar("beta", "master", "any")},
        o);
    CHECK(listed(idx.document) ==
          std::vector<std::string>{"Alpha 1.9 any", "Alpha 1.9 linux_x86_64", "Alpha 1.10 any",
                                   "beta master any", "zeta 1.0 any"});
    CHECK(idx.document["github_repo"] == "mip-org/mip-core");
    CHECK(idx.document["total_packages"] == 5);
    CHECK(!idx.document.contains("mip_compatibility_floor"));
    CHECK(idx.document["packages"][0]["mip_json_url"] ==
          "https://pkgs.example.org/core/Alpha-1.9-any.mhl.mip.json");
}

TEST_CASE("a release missing a declared architecture is held unless --allow-partial",
          "[current_format]") {
    detail::CurrentIndexOptions o;
    o.channel = "o/c";
    o.compatibility_floor = "0.9.0";
    o.declared[{"kdtree", "2.0"}] = {"linux_x86_64", "macos_arm64"};
    o.declared[{"kdtree", "1.0"}] = {"linux_x86_64", "macos_arm64"};
    std::vector<detail::Json> sidecars = {sidecar("kdtree", "1.0", "linux_x86_64"),
                                          sidecar("kdtree", "1.0", "macos_arm64"),
                                          sidecar("kdtree", "2.0", "linux_x86_64")};
    auto idx = detail::build_current_index(sidecars, o);
    CHECK(listed(idx.document) ==
          std::vector<std::string>{"kdtree 1.0 linux_x86_64", "kdtree 1.0 macos_arm64"});
    CHECK(idx.held == std::vector<std::string>{"kdtree 2.0: held: waiting for macos_arm64"});
    CHECK(idx.document["mip_compatibility_floor"] == "0.9.0");
    o.allow_partial = true;
    CHECK(detail::build_current_index(sidecars, o).document["packages"].size() == 3);
}

TEST_CASE("the channel index refuses http URLs, colliding names and a bad channel",
          "[current_format]") {
    detail::CurrentIndexOptions o;
    o.channel = "o/c";
    auto plain = sidecar("a", "1.0", "any");
    plain["mhl_url"] = "http://pkgs.example.org/a-1.0-any.mhl";
    REQUIRE_THROWS_WITH(detail::build_current_index({plain}, o),
                        Catch::Contains("must be an https:// URL"));
    REQUIRE_THROWS_WITH(detail::build_current_index(
                            {sidecar("foo-bar", "1", "any"), sidecar("Foo_Bar", "1", "any")}, o),
                        Catch::Contains("collide"));
    o.channel = "no-slash";
    REQUIRE_THROWS_AS(detail::build_current_index({}, o), SpecError);
}

TEST_CASE("a current sidecar reads back and renders to the same bytes", "[current_format]") {
    TempDir tmp;
    const auto& layout = detail::package_layout("mip");
    PackageSpec spec;
    spec.name = "aabb-tree";
    spec.version = "master";
    spec.dependencies = {"inpoly"};
    spec.extra_fields.emplace_back("paths", R"([".","sub"])");
    spec.extra_fields.emplace_back("test_script", R"("test_aabb.m")");
    const detail::LayoutInput in{spec, tmp.path(), 1700000000, 1700000000};
    auto text =
        layout.sidecar_json(in, {std::string(64, 'a'), 12, std::string("https://x.org/a.mhl")});
    auto read = layout.read_sidecar(text, "sidecar", true);
    CHECK(read.name == "aabb-tree");
    CHECK(read.platform_tag == "any");
    CHECK(layout.archive_stem(read) == "aabb_tree-master-any");
    CHECK(layout.render_sidecar(read) == text);
    CHECK(layout.name_of_stem("aabb_tree-master-any") == std::optional<std::string>("aabb_tree"));
    CHECK(layout.key_name("aabb-tree") == "aabb_tree");
    CHECK(detail::package_layout("r2").name_of_stem("a-1-any-none-any") ==
          std::optional<std::string>("a"));
    REQUIRE_THROWS_AS(layout.read_sidecar("{\"name\": \"x/y\", \"version\": \"1\", "
                                          "\"architecture\": \"any\"}",
                                          "bad", true),
                      SpecError);
}
