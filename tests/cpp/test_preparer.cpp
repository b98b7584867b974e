#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <map>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include <mip/error.hpp>
#include <mip/local_store.hpp>
#include <mip/package_spec.hpp>
#include <mip/preparer.hpp>
#include <mip/r2_client.hpp>

#include "counting_store.hpp"
#include "detail/crypto.hpp"
#include "s3_servers.hpp"
#include "test_support.hpp"

using namespace mip;
using mip::test::TempDir;
using mip::test::write_file;
namespace fs = std::filesystem;

namespace {

test::PrepareSetup options_for(const TempDir& tmp) {
    test::PrepareSetup o;
    o.recipes = tmp / "recipes";
    o.output_dir = tmp / "prepared";
    o.cache_dir = tmp / "cache";
    o.environment = test::environment();
    o.source_date_epoch = 1700000000;
    return o;
}

void simple_recipe(const fs::path& recipes,
                   const std::string& name,
                   const std::string& extra = "") {
    write_file(recipes / name / "prepare.yaml",
               "name: " + name +
                   "\nversion: \"1.0\"\ndescription: test\nprepare:\n  path:\n    path: src\n    "
                   "destination: " +
                   name + "\n" + extra);
    write_file(recipes / name / "src" / (name + "_main.m"), "function " + name + "_main\nend\n");
}

void git(const fs::path& repo, const std::string& args) {
    std::string cmd =
        "cd '" + repo.string() +
        "' && GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_DATE='@1700000000 "
        "+0000' "
        "GIT_COMMITTER_DATE='@1700000000 +0000' git -c user.name=t -c user.email=t@x.invalid " +
        args + " >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
}

const ItemResult& item_named(const StageReport& r, const std::string& package) {
    for (const auto& i : r.items) {
        if (i.package == package) {
            return i;
        }
    }
    FAIL("no item for " + package);
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("a path recipe prepares a complete .dir", "[preparer]") {
    TempDir tmp;
    auto recipes = tmp / "recipes";
    write_file(recipes / "toolbox" / "prepare.yaml", R"yaml(name: toolbox
description: A toolbox
version: "2.1"
build_number: 4
license: MIT
dependencies: [mathutils]
usage_examples: ["toolbox_main(1)"]
script_env: [MIP_TEST_SET, MIP_TEST_UNSET]
prepare:
  path: {path: src, destination: tb}
addpaths:
  - path: tb
    recursive: true
    exclude: [tests]
keep_prebuilt: [tb/keep.mexa64]
builds:
  - build_type: standard
    compile_script: compile.m
  - build_type: other
)yaml");
    write_file(recipes / "toolbox" / "compile.m", "disp('compile')\n");
    write_file(recipes / "toolbox" / "src" / "toolbox_main.m", "function toolbox_main(x)\nend\n");
    write_file(recipes / "toolbox" / "src" / "+tbx" / "util.m", "function util\nend\n");
    write_file(recipes / "toolbox" / "src" / "@Thing" / "Thing.m", "classdef Thing\nend\n");
    write_file(recipes / "toolbox" / "src" / "sub" / "deep" / "d.m", "function d\nend\n");
    write_file(recipes / "toolbox" / "src" / "tests" / "t.m", "function t\nend\n");
    write_file(recipes / "toolbox" / "src" / "old.mexa64", "ELF");
    write_file(recipes / "toolbox" / "src" / "lib.so", "ELF");
    write_file(recipes / "toolbox" / "src" / "keep.mexa64", "ELF");
    auto o = options_for(tmp);
    o.environment->insert_or_assign("MIP_TEST_SET", "a b=c\nd");
    o.environment->erase("MIP_TEST_UNSET");
    auto report = test::preparer_for(o).prepare();
    REQUIRE(report.items.size() == 1);  // the "other" build type is not built
    const auto& item = report.items[0];
    INFO(item.detail);
    REQUIRE(item.status == ItemStatus::done);
    auto host = host_platform_tag();
    auto wheel = "toolbox-2.1-any-none-" + host;  // a compile script defaults to the host tag
    CHECK(item.wheel == wheel);
    auto dir = tmp / "prepared" / (wheel + ".dir");
    REQUIRE(fs::is_directory(dir));
    CHECK_FALSE(fs::exists(tmp / "prepared" / (wheel + ".work") / "stage"));
    CHECK(test::read_file(dir / "load_package.m") ==
          "addpath(fullfile(fileparts(mfilename('fullpath')), 'tb'));\n"
          "addpath(fullfile(fileparts(mfilename('fullpath')), 'tb/sub/deep'));\n");
    CHECK(test::read_file(dir / "unload_package.m") ==
          "rmpath(fullfile(fileparts(mfilename('fullpath')), 'tb/sub/deep'));\n"
          "rmpath(fullfile(fileparts(mfilename('fullpath')), 'tb'));\n");
    CHECK_FALSE(fs::exists(dir / "tb" / "old.mexa64"));
    CHECK_FALSE(fs::exists(dir / "tb" / "lib.so"));  // compiled package: shared libraries go too
    CHECK(fs::exists(dir / "tb" / "keep.mexa64"));
    CHECK(test::read_file(dir / "compile.m") == "disp('compile')\n");
    auto spec = PackageSpec::load((dir / "mip.json").string());
    CHECK(spec.name == "toolbox");
    CHECK(spec.build_number == 4);
    CHECK(spec.dependencies == std::vector<std::string>{"mathutils"});
    CHECK(spec.exposed_symbols == std::vector<std::string>{"Thing", "d", "tbx", "toolbox_main"});
    CHECK(spec.compile_script == "compile.m");
    // Recorded so the compile stage spares the same prebuilt files.
    REQUIRE(spec.extra_fields.size() == 1);
    CHECK(spec.extra_fields[0] ==
          std::pair<std::string, std::string>{"keep_prebuilt", R"(["tb/keep.mexa64"])"});
    CHECK(spec.source_json.find("\"type\":\"path\"") != std::string::npos);
    CHECK(spec.build_info.to_json().find("\"source_date_epoch\":1700000000") != std::string::npos);
    CHECK(spec.build_info.to_json().find("\"recipe_sha256\":\"") != std::string::npos);
    auto env_json = test::read_file(tmp / "prepared" / (wheel + ".work") / "script_env.json");
    CHECK(env_json == "{\n  \"MIP_TEST_SET\": \"a b=c\\nd\"\n}\n");
}

TEST_CASE("a recipe failure leaves no .dir and the others still build with keep_going",
          "[preparer]") {
    TempDir tmp;
    auto recipes = tmp / "recipes";
    simple_recipe(recipes, "good");
    write_file(recipes / "bad" / "prepare.yaml", "name: bad\nprepare:\n  path: {path: missing}\n");
    write_file(recipes / "typo" / "prepare.yaml", "name: typo\nversoin: 1\n");
    auto o = options_for(tmp);
    o.keep_going = true;
    auto report = test::preparer_for(o).prepare();
    CHECK(item_named(report, "good").status == ItemStatus::done);
    CHECK(item_named(report, "bad").status == ItemStatus::failed);
    CHECK(item_named(report, "bad").detail.find("prepare.path.path") != std::string::npos);
    const auto& typo = item_named(report, "typo");
    CHECK(typo.status == ItemStatus::failed);
    CHECK(typo.error_code == ErrorCode::invalid_spec);
    CHECK(typo.detail.find("field 'versoin' is not a known key") != std::string::npos);
    CHECK(fs::exists(tmp / "prepared" / "good-1.0-any-none-any.dir"));
    CHECK_FALSE(fs::exists(tmp / "prepared" / "bad-unspecified-any-none-any.dir"));

    SECTION("without keep_going the run stops at the first failure") {
        o.keep_going = false;
        auto r2 = test::preparer_for(o).prepare();
        CHECK(r2.count(ItemStatus::failed) == 1);
        CHECK(r2.first_failure()->package == "bad");
    }
}

TEST_CASE("a path source name too long for the file system is a spec error naming the field",
          "[preparer]") {
    // Found by fuzz_prepare_yaml (tests/fuzz/regressions/prepare_yaml/): std::filesystem threw
    // ENAMETOOLONG out of the loader, an internal error instead of a recipe error.
    TempDir tmp;
    write_file(
        tmp / "recipes" / "long" / "prepare.yaml",
        "name: long\nversion: \"1.0\"\nprepare:\n  path: {path: " + std::string(300, 'a') + "}\n");
    auto o = options_for(tmp);
    auto report = Preparer(o).prepare();
    const auto& item = item_named(report, "long");
    CHECK(item.status == ItemStatus::failed);
    CHECK(item.error_code == ErrorCode::invalid_spec);
    CHECK(item.detail.find("field 'prepare.path.path'") != std::string::npos);
}

TEST_CASE("the cache check skips published packages and never stops the others",
          "[preparer][cache]") {
    TempDir tmp;
    auto recipes = tmp / "recipes";
    simple_recipe(recipes, "aaa");
    simple_recipe(recipes, "bbb");
    LocalStore store(tmp / "store");
    auto o = options_for(tmp);
    o.store = &store;
    auto first = test::preparer_for(o).prepare();
    REQUIRE(first.count(ItemStatus::done) == 2);
    // Publish aaa's sidecar as if uploaded.
    auto aaa = test::read_file(tmp / "prepared" / "aaa-1.0-any-none-any.dir" / "mip.json");
    (void)store.put({"aaa-1.0-any-none-any.mhl.mip.json", std::nullopt, aaa, {}});
    fs::remove_all(tmp / "prepared");
    auto second = test::preparer_for(o).prepare();
    CHECK(item_named(second, "aaa").status == ItemStatus::skipped);
    CHECK(item_named(second, "aaa").detail == "published metadata matches");
    CHECK(item_named(second, "bbb").status == ItemStatus::done);  // the hit did not stop the loop

    SECTION("force rebuilds") {
        o.force = true;
        CHECK(item_named(test::preparer_for(o).prepare(), "aaa").status == ItemStatus::done);
    }
    SECTION("a source change is rebuilt without a build_number bump") {
        write_file(recipes / "aaa" / "src" / "extra.m", "function extra\nend\n");
        auto r = test::preparer_for(o).prepare();
        CHECK(item_named(r, "aaa").status == ItemStatus::done);
        CHECK(item_named(r, "aaa").detail.find("'source' differs") != std::string::npos);
    }
    SECTION("dry run decides and writes nothing") {
        fs::remove_all(tmp / "prepared");
        o.dry_run = true;
        auto r = test::preparer_for(o).prepare();
        CHECK(item_named(r, "aaa").status == ItemStatus::skipped);
        CHECK(item_named(r, "bbb").status == ItemStatus::planned);
        CHECK_FALSE(fs::exists(tmp / "prepared" / "bbb-1.0-any-none-any.dir"));
    }
}

// The cache check reads every published sidecar in one batch before building, instead of one
// request per package inside the workers (a round trip each against R2).
TEST_CASE("the cache check fetches all sidecars in one batch", "[preparer][cache]") {
    TempDir tmp;
    auto recipes = tmp / "recipes";
    for (const char* name : {"aaa", "bbb", "ccc", "ddd"}) {
        simple_recipe(recipes, name);
    }
    LocalStore local(tmp / "store");
    test::CountingStore store(local);
    auto o = options_for(tmp);
    o.store = &store;
    o.jobs = 3;
    auto first = test::preparer_for(o).prepare();
    REQUIRE(first.count(ItemStatus::done) == 4);
    CHECK(store.batch_gets == 1);
    CHECK(store.batched_requests == 4);
    CHECK(store.single_gets == 0);
    for (const char* name : {"aaa", "ccc"}) {
        auto wheel = std::string(name) + "-1.0-any-none-any";
        (void)local.put({wheel + ".mhl.mip.json",
                         std::nullopt,
                         test::read_file(tmp / "prepared" / (wheel + ".dir") / "mip.json"),
                         {}});
    }
    fs::remove_all(tmp / "prepared");
    store.reset();
    auto second = test::preparer_for(o).prepare();
    CHECK(store.batch_gets == 1);
    CHECK(store.single_gets == 0);
    CHECK(item_named(second, "aaa").status == ItemStatus::skipped);
    CHECK(item_named(second, "ccc").status == ItemStatus::skipped);
    CHECK(item_named(second, "bbb").status == ItemStatus::done);
    CHECK(item_named(second, "ddd").status == ItemStatus::done);
    CHECK(item_named(second, "bbb").detail.find("not published") != std::string::npos);

    SECTION("force reads nothing") {
        store.reset();
        o.force = true;
        (void)test::preparer_for(o).prepare();
        CHECK(store.batch_gets == 0);
        CHECK(store.single_gets == 0);
    }
}

namespace {

/// A store that hands over every sidecar of a batch but the last at once, and the last only
/// after the preparer logged a decision about every other package. A cache check that waits for
/// the whole batch never gets there: the store gives up after two minutes and the test fails
/// (`held_until_decided` stays false) instead of hanging.
class HoldLastStore final : public Store {
public:
    explicit HoldLastStore(Store& inner) : inner_(inner) {}
    std::atomic<bool> held_until_decided{false};
    std::size_t batches = 0;

    /// The preparer's logger: counts "<wheel>: skipped" decisions.
    Logger logger() {
        return Logger(
            [this](LogLevel, std::string_view m) {
                if (m.find(": skipped") != std::string_view::npos && ++skipped_ == expected_) {
                    decided_.set_value();
                }
            },
            LogLevel::info);
    }
    void expect_skips(std::size_t n) { expected_ = n; }

    [[nodiscard]] std::string describe() const override { return inner_.describe(); }
    [[nodiscard]] std::string default_base_url() const override {
        return inner_.default_base_url();
    }
    PutResult put(const PutRequest& request) override { return inner_.put(request); }
    [[nodiscard]] std::optional<std::string> get(const std::string& key) override {
        return inner_.get(key);
    }
    bool get_to_file(const std::string& key, const fs::path& destination) override {
        return inner_.get_to_file(key, destination);
    }
    [[nodiscard]] std::optional<ObjectInfo> head(const std::string& key) override {
        return inner_.head(key);
    }
    [[nodiscard]] std::vector<ObjectInfo> list(const std::string& prefix, bool recursive) override {
        return inner_.list(prefix, recursive);
    }
    void remove(const std::string& key) override { inner_.remove(key); }
    void get_each(const std::vector<GetRequest>& requests,
                  const GetCallback& on_result,
                  const BatchOptions& options) override {
        ++batches;
        std::vector<GetResult> got = inner_.get_many(requests, options);
        for (std::size_t i = 0; i + 1 < got.size(); ++i) {
            on_result(i, std::move(got[i]));
        }
        if (!got.empty()) {
            held_until_decided = decided_.get_future().wait_for(std::chrono::minutes(2)) ==
                                 std::future_status::ready;
            on_result(got.size() - 1, std::move(got.back()));
        }
    }

private:
    Store& inner_;
    std::atomic<std::size_t> skipped_{0};
    std::size_t expected_ = 0;
    std::promise<void> decided_;
};

}  // namespace

TEST_CASE("each cache decision starts when its own sidecar arrives, not after the batch",
          "[preparer][cache]") {
    TempDir tmp;
    auto recipes = tmp / "recipes";
    const std::vector<std::string> names = {"aaa", "bbb", "ccc", "ddd", "eee"};
    for (const auto& name : names) {
        simple_recipe(recipes, name);
    }
    LocalStore local(tmp / "store");
    auto o = options_for(tmp);
    o.store = &local;
    REQUIRE(test::preparer_for(o).prepare().count(ItemStatus::done) == names.size());
    for (const auto& name : names) {  // all published
        auto wheel = name + "-1.0-any-none-any";
        (void)local.put({wheel + ".mhl.mip.json",
                         std::nullopt,
                         test::read_file(tmp / "prepared" / (wheel + ".dir") / "mip.json"),
                         {}});
    }
    fs::remove_all(tmp / "prepared");
    HoldLastStore held(local);
    held.expect_skips(names.size() - 1);
    o.store = &held;
    o.jobs = 2;
    o.logger = held.logger();
    const auto r = test::preparer_for(o).prepare();
    CHECK(held.batches == 1);
    CHECK(held.held_until_decided);  // four decisions made while the fifth answer was held back
    CHECK(r.count(ItemStatus::skipped) == names.size());
}

// The per-key cache check against moto (through the verifying proxy): a mixed store gives the
// same decisions as the same store on disk, every one of them the expected one.
TEST_CASE("the cache check decides a mixed S3 store package by package, as a local store does",
          "[preparer][cache][integration]") {
    TempDir tmp;
    auto recipes = tmp / "recipes";
    const std::vector<std::string> names = {"aaa", "bbb", "ccc", "ddd", "eee"};
    for (const auto& name : names) {
        simple_recipe(recipes, name);
    }
    auto o = options_for(tmp);
    REQUIRE(test::preparer_for(o).prepare().count(ItemStatus::done) == names.size());
    test::S3Servers servers(tmp / "s3");
    R2Client s3(servers.config("cache/packages"));
    LocalStore local(tmp / "store");
    auto publish = [&](const std::string& key, const std::string& text) {
        for (Store* store : {static_cast<Store*>(&s3), static_cast<Store*>(&local)}) {
            REQUIRE(store->put({key, std::nullopt, text, {}}).error == nullptr);
        }
    };
    auto sidecar_of = [&](const std::string& name) {
        return test::read_file(tmp / "prepared" / (name + "-1.0-any-none-any.dir") / "mip.json");
    };
    publish("aaa-1.0-any-none-any.mhl.mip.json", sidecar_of("aaa"));  // unchanged
    publish("bbb-1.0-any-none-any.mhl.mip.json", sidecar_of("bbb"));  // changed below
    publish("ccc-1.0-any-none-any.mhl.mip.json", sidecar_of("ccc"));  // unchanged
    // ddd: never published. eee: a corrupt sidecar, named in a warning, and built.
    publish("eee-1.0-any-none-any.mhl.mip.json", "{\"name\": \"eee\", truncated");
    write_file(recipes / "bbb" / "src" / "extra.m", "function extra\nend\n");

    auto decide_with = [&](Store& store) {
        fs::remove_all(tmp / "prepared");
        auto run = o;
        run.store = &store;
        run.jobs = 2;
        auto warnings = std::make_shared<std::vector<std::string>>();
        run.logger = Logger(
            [warnings](LogLevel level, std::string_view m) {
                // (built packages also warn that the test's recipes are in no git repository)
                if (level == LogLevel::warning && m.find("cache") != std::string_view::npos) {
                    warnings->emplace_back(m);
                }
            },
            LogLevel::info);
        auto report = test::preparer_for(run).prepare();
        return std::make_pair(report, *warnings);
    };
    const auto [from_s3, s3_warnings] = decide_with(s3);
    const auto [from_disk, disk_warnings] = decide_with(local);
    REQUIRE(from_s3.items.size() == names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
        INFO(from_s3.items[i].package << ": " << from_s3.items[i].detail);
        CHECK(from_s3.items[i].package == from_disk.items[i].package);
        CHECK(from_s3.items[i].status == from_disk.items[i].status);
        CHECK(from_s3.items[i].detail == from_disk.items[i].detail);
    }
    CHECK(item_named(from_s3, "aaa").status == ItemStatus::skipped);
    CHECK(item_named(from_s3, "ccc").status == ItemStatus::skipped);
    CHECK(item_named(from_s3, "aaa").detail == "published metadata matches");
    CHECK(item_named(from_s3, "bbb").status == ItemStatus::done);
    CHECK(item_named(from_s3, "bbb").detail.find("'source' differs") != std::string::npos);
    CHECK(item_named(from_s3, "ddd").status == ItemStatus::done);
    CHECK(item_named(from_s3, "ddd").detail.find("not published") != std::string::npos);
    CHECK(item_named(from_s3, "eee").status == ItemStatus::done);
    CHECK(item_named(from_s3, "eee").detail == "built (cache check failed)");
    REQUIRE(s3_warnings.size() == 1);
    CHECK(s3_warnings[0].find("eee-1.0-any-none-any.mhl.mip.json") != std::string::npos);
    CHECK(s3_warnings[0].find("cache check failed") != std::string::npos);
    CHECK(disk_warnings.size() == 1);
    // One GET per sidecar, all from the one batch.
    std::size_t sidecar_gets = 0;
    for (const auto& r : servers.records()) {
        const auto path = r["path"].get<std::string>();
        if (r["method"] == "GET" && path.find(".mhl.mip.json") != std::string::npos) {
            ++sidecar_gets;
        }
    }
    CHECK(sidecar_gets == names.size());
    test::require_clean_log(servers);
}

TEST_CASE("package selection, duplicates and unknown names", "[preparer]") {
    TempDir tmp;
    auto recipes = tmp / "recipes";
    simple_recipe(recipes, "one");
    simple_recipe(recipes, "two");
    auto o = options_for(tmp);
    o.package = {"two"};
    auto r = test::preparer_for(o).prepare();
    REQUIRE(r.items.size() == 1);
    CHECK(r.items[0].package == "two");
    o.package = {"nope"};
    CHECK_THROWS_WITH(test::preparer_for(o).prepare(), Catch::Contains("'nope' matches no recipe"));
    o.package.clear();
    simple_recipe(recipes, "copy");
    write_file(recipes / "copy" / "prepare.yaml",
               "name: one\nversion: \"1.0\"\nprepare:\n  path: {path: src}\n");
    o.keep_going = true;
    auto dup = test::preparer_for(o).prepare();
    CHECK(dup.count(ItemStatus::failed) == 1);
    CHECK(dup.first_failure()->detail.find("is built by both") != std::string::npos);
}

TEST_CASE("a git source is pinned to its commit and exported without .git", "[preparer][git]") {
    TempDir tmp;
    auto upstream = tmp / "upstream";
    write_file(upstream / "lib" / "gitfn.m", "function gitfn\nend\n");
    git(upstream, "init -q -b main");
    git(upstream, "add -A");
    git(upstream, "commit -q -m first");
    git(upstream, "tag v1.0");
    write_file(upstream / "lib" / "later.m", "function later\nend\n");
    git(upstream, "add -A");
    git(upstream, "commit -q -m second");
    auto recipes = tmp / "recipes";
    write_file(recipes / "gitpkg" / "prepare.yaml",
               "name: gitpkg\nversion: \"1.0\"\nprepare:\n  clone_git:\n    url: " +
                   upstream.string() + "\n    destination: g\n    ref: v1.0\naddpaths: [g/lib]\n");
    auto o = options_for(tmp);
    o.source_date_epoch.reset();
    auto r = test::preparer_for(o).prepare();
    REQUIRE(r.items.size() == 1);
    INFO(r.items[0].detail);
    REQUIRE(r.items[0].status == ItemStatus::done);
    auto dir = tmp / "prepared" / "gitpkg-1.0-any-none-any.dir";
    CHECK(fs::exists(dir / "g" / "lib" / "gitfn.m"));
    CHECK_FALSE(fs::exists(dir / "g" / "lib" / "later.m"));  // the tag, not the branch tip
    CHECK_FALSE(fs::exists(dir / "g" / ".git"));
    auto spec = PackageSpec::load((dir / "mip.json").string());
    CHECK(spec.source_json.find("\"type\":\"git\"") != std::string::npos);
    CHECK(spec.source_json.find("\"ref\":\"v1.0\"") != std::string::npos);
    // SOURCE_DATE_EPOCH falls back to the pinned commit's time.
    CHECK(spec.build_info.to_json().find("\"source_date_epoch\":1700000000") != std::string::npos);
    CHECK(spec.build_info.to_json().find("\"epoch_source\":\"source commit\"") !=
          std::string::npos);
}

TEST_CASE("a zip source is downloaded, pinned and extracted", "[preparer][zip]") {
    TempDir tmp;
    write_file(tmp / "payload" / "pkg-main" / "zipfn.m", "function zipfn\nend\n");
    REQUIRE(std::system(("cd '" + (tmp / "payload").string() + "' && zip -qr ../src.zip pkg-main")
                            .c_str()) == 0);
    auto digest = detail::sha256_file_hex(tmp / "src.zip");
    auto recipes = tmp / "recipes";
    write_file(recipes / "zippkg" / "prepare.yaml",
               "name: zippkg\nversion: \"3\"\nprepare:\n  download_zip:\n    url: file://" +
                   (tmp / "src.zip").string() + "\n    destination: z\n    sha256: " + digest +
                   "\naddpaths: [z/pkg-main]\n");
    auto o = options_for(tmp);
    auto r = test::preparer_for(o).prepare();
    REQUIRE(r.items.size() == 1);
    INFO(r.items[0].detail);
    REQUIRE(r.items[0].status == ItemStatus::done);
    auto dir = tmp / "prepared" / "zippkg-3-any-none-any.dir";
    CHECK(fs::exists(dir / "z" / "pkg-main" / "zipfn.m"));  // top folder kept
    auto spec = PackageSpec::load((dir / "mip.json").string());
    CHECK(spec.source_json.find(digest) != std::string::npos);
    CHECK(spec.exposed_symbols == std::vector<std::string>{"zipfn"});

    SECTION("a wrong sha256 fails before extraction") {
        write_file(recipes / "zippkg" / "prepare.yaml",
                   "name: zippkg\nversion: \"3\"\nprepare:\n  download_zip:\n    url: file://" +
                       (tmp / "src.zip").string() + "\n    sha256: " + std::string(64, '0') + "\n");
        fs::remove_all(tmp / "prepared");
        o.force = true;
        auto bad = test::preparer_for(o).prepare();
        CHECK(bad.count(ItemStatus::failed) == 1);
        CHECK(bad.first_failure()->detail.find("mismatch") != std::string::npos);
        CHECK_FALSE(fs::exists(dir));
    }
}

TEST_CASE("parallel preparation gives the same bytes as sequential", "[preparer][parallel]") {
    TempDir tmp;
    auto recipes = tmp / "recipes";
    for (int i = 0; i < 8; ++i) {
        simple_recipe(recipes, "pkg" + std::to_string(i));
    }
    auto o = options_for(tmp);
    o.jobs = 1;
    auto seq = test::preparer_for(o).prepare();
    std::map<std::string, std::string> first;
    for (const auto& item : seq.items) {
        REQUIRE(item.status == ItemStatus::done);
        first[item.wheel] = test::read_file(fs::path(item.path) / "load_package.m");
    }
    o.jobs = 4;
    o.output_dir = tmp / "prepared4";
    auto par = test::preparer_for(o).prepare();
    REQUIRE(par.items.size() == seq.items.size());
    for (std::size_t i = 0; i < par.items.size(); ++i) {
        CHECK(par.items[i].wheel == seq.items[i].wheel);  // report order is stable
        CHECK(test::read_file(fs::path(par.items[i].path) / "load_package.m") ==
              first[par.items[i].wheel]);
    }
}
