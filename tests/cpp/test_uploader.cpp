// Uploader: bundles made by the real Bundler, published into a real LocalStore and into
// moto_server behind the SigV4-verifying proxy (tests/servers/s3_stack.py). What is checked is
// what a reader of the store sees: the objects, their bytes, the sidecars' mhl_url, and which
// requests the upload made.

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <mip/bundler.hpp>
#include <mip/error.hpp>
#include <mip/local_store.hpp>
#include <mip/package_spec.hpp>
#include <mip/r2_client.hpp>
#include <mip/uploader.hpp>

#include "counting_store.hpp"
#include "detail/crypto.hpp"
#include "detail/fs.hpp"
#include "detail/index_manifest.hpp"
#include "s3_servers.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using mip::ItemStatus;
using mip::test::TempDir;

namespace {

const std::string base = "https://pkgs.example.org/core/packages";

/// Prepared dirs for `names` (version 1.0.0), bundled into `<tmp>/bundled`; the bundled dir.
fs::path bundle_packages(const TempDir& tmp, const std::vector<std::string>& names) {
    const auto prepared = tmp / "prepared";
    auto bundled = tmp / "bundled";
    for (const auto& name : names) {
        mip::test::make_prepared_dir(prepared, name);
    }
    mip::Bundler bundler({.input_dir = prepared, .output_dir = bundled}, {});
    const auto report = bundler.bundle_all();
    REQUIRE(report.ok());
    REQUIRE(report.items.size() == names.size());
    return bundled;
}

std::string wheel_of(const std::string& name) { return name + "-1.0.0-any-none-any"; }

std::vector<std::string> keys_of(mip::Store& store) {
    std::vector<std::string> keys;
    for (const auto& info : store.list("")) {
        keys.push_back(info.key);
    }
    return keys;
}

mip::RunOptions run_options() {
    mip::RunOptions run;
    run.base_url = base;
    run.jobs = 2;
    run.progress_interval = std::chrono::milliseconds(0);
    return run;
}

/// Rewrites the compile engine a bundle's sidecar records (as if compiled by it).
void set_engine(const fs::path& bundled, const std::string& name, const std::string& engine) {
    const auto sidecar = bundled / (wheel_of(name) + ".mhl.mip.json");
    auto spec = mip::PackageSpec::load(sidecar.string());
    spec.build_info = mip::BuildInfo::from_json(R"({"source_date_epoch":1700000000,)"
                                                R"("compile_engine":")" +
                                                engine + "\"}");
    mip::test::write_file(sidecar, spec.to_json());
}

}  // namespace

TEST_CASE("upload publishes bundle and sidecar per package into a new local store, no flat copy",
          "[uploader]") {
    TempDir tmp;
    const auto bundled = bundle_packages(tmp, {"alpha", "beta"});
    mip::LocalStore store(tmp / "store");
    std::vector<mip::ProgressEvent> events;
    auto run = run_options();
    run.progress = [&](const mip::ProgressEvent& e) { events.push_back(e); };
    mip::Uploader uploader(store, {.input_dir = bundled}, run);
    const auto report = uploader.upload();

    REQUIRE(report.items.size() == 2);
    CHECK(report.stage == "upload");
    std::set<std::string> expected_keys;
    for (const auto& item : report.items) {
        INFO(item.detail);
        REQUIRE(item.status == ItemStatus::done);
        const auto mhl = bundled / (item.wheel + ".mhl");
        const auto digest = mip::detail::sha256_file_hex(mhl);
        const auto cas = "sha256/" + digest + "/" + item.wheel + ".mhl";
        std::string cas_url = base;
        cas_url += "/";
        cas_url += cas;
        CHECK(item.path == cas_url);
        // A reader gets exactly the bundle's bytes under both names.
        CHECK(store.get(cas) == mip::test::read_file(mhl));
        // A store without flat names gets none: nothing reads them (index, test stage and
        // channel page go by the sidecar's mhl_url).
        CHECK_FALSE(store.get(item.wheel + ".mhl"));
        // The published sidecar names the content-addressed URL; the local one matches it.
        const auto published =
            mip::PackageSpec::from_json(*store.get(item.wheel + ".mhl.mip.json"), "sidecar");
        CHECK(published.mhl_url == cas_url);
        CHECK(published.mhl_sha256 == digest);
        CHECK(mip::test::read_file(fs::path(mhl.string() + ".mip.json")) ==
              *store.get(item.wheel + ".mhl.mip.json"));
        expected_keys.insert({cas, item.wheel + ".mhl.mip.json"});
    }
    // ...and the index manifest names each sidecar with the ETag the store gives it.
    const auto manifest = mip::detail::parse_index_manifest(*store.get("mip-index-manifest.json"));
    CHECK(manifest.listed_at == 0);  // an uploader never saw the whole store
    for (const auto& key : expected_keys) {
        if (key.size() > 13 && key.substr(key.size() - 13) == ".mhl.mip.json") {
            CHECK(manifest.sidecars.at(key) == store.head(key)->etag);
        }
    }
    CHECK(manifest.sidecars.size() == report.items.size());
    expected_keys.insert("mip-index-manifest.json");
    const auto keys = keys_of(store);
    CHECK(std::set<std::string>(keys.begin(), keys.end()) == expected_keys);
    REQUIRE(events.size() >= 4);
    CHECK(events.front().stage == "upload:check");
    CHECK(events.back().stage == "upload");
    CHECK(events.back().phase == mip::ProgressPhase::finished);
    CHECK(events.back().done == events.back().total);
    CHECK(events.back().total > 0);

    SECTION("a second upload finds everything published and writes nothing") {
        const auto before = store.head(wheel_of("alpha") + ".mhl.mip.json");
        const auto again = mip::Uploader(store, {.input_dir = bundled}, run_options()).upload();
        REQUIRE(again.items.size() == 2);
        for (const auto& item : again.items) {
            CHECK(item.status == ItemStatus::skipped);
            CHECK(item.detail == "unchanged in " + store.describe());
        }
        CHECK(store.head(wheel_of("alpha") + ".mhl.mip.json") == before);
    }
}

TEST_CASE("the flat copy is written exactly where the store keeps flat names or flat_copy asks",
          "[uploader]") {
    TempDir tmp;
    const auto bundled = bundle_packages(tmp, {"alpha"});
    const auto mhl = bundled / (wheel_of("alpha") + ".mhl");
    const auto flat = wheel_of("alpha") + ".mhl";
    const auto cas = "sha256/" + mip::detail::sha256_file_hex(mhl) + "/" + flat;
    mip::LocalStore store(tmp / "store");
    SECTION("a store that already holds a flat name (the reference layout) keeps getting them") {
        mip::PutRequest legacy;
        legacy.key = "legacy-0.1.0-any-none-any.mhl";
        legacy.data = "an older package's bytes";
        REQUIRE(store.put(legacy).written);
        REQUIRE(mip::Uploader(store, {.input_dir = bundled}, run_options()).upload().ok());
        CHECK(store.get(cas) == mip::test::read_file(mhl));
        CHECK(store.get(flat) == mip::test::read_file(mhl));
    }
    SECTION("a flat name under sha256/ only is not a flat name") {
        mip::PutRequest other;
        other.key = "sha256/00/legacy-0.1.0-any-none-any.mhl";
        other.data = "content-addressed bytes";
        REQUIRE(store.put(other).written);
        REQUIRE(mip::Uploader(store, {.input_dir = bundled}, run_options()).upload().ok());
        CHECK(store.get(cas) == mip::test::read_file(mhl));
        CHECK_FALSE(store.get(flat));
    }
    SECTION("flat_copy writes it into a new store, and the next upload keeps it up") {
        REQUIRE(mip::Uploader(store, {.input_dir = bundled, .flat_copy = true}, run_options())
                    .upload()
                    .ok());
        CHECK(store.get(flat) == mip::test::read_file(mhl));
        const auto published = mip::PackageSpec::from_json(*store.get(flat + ".mip.json"), "s");
        CHECK(published.mhl_url == base + "/" + cas);  // the URL stays content-addressed
        // A new package into that store: it has flat names now, so it gets its copy too.
        TempDir more;
        const auto beta = bundle_packages(more, {"beta"});
        REQUIRE(mip::Uploader(store, {.input_dir = beta}, run_options()).upload().ok());
        CHECK(store.get(wheel_of("beta") + ".mhl") ==
              mip::test::read_file(beta / (wheel_of("beta") + ".mhl")));
    }
    SECTION("flat URLs upload the flat name itself, as before") {
        auto run = run_options();
        run.flat_urls = true;
        REQUIRE(mip::Uploader(store, {.input_dir = bundled}, run).upload().ok());
        CHECK(keys_of(store) ==
              std::vector<std::string>{flat, flat + ".mip.json", "mip-index-manifest.json"});
        CHECK(store.get(flat) == mip::test::read_file(mhl));
    }
}

TEST_CASE("upload selects packages and plans without writing on a dry run", "[uploader]") {
    TempDir tmp;
    const auto bundled = bundle_packages(tmp, {"alpha", "beta", "gamma"});
    mip::LocalStore store(tmp / "store");
    auto run = run_options();
    run.package = {"beta"};
    run.dry_run = true;
    const auto report = mip::Uploader(store, {.input_dir = bundled}, run).upload();
    REQUIRE(report.items.size() == 1);
    CHECK(report.dry_run);
    CHECK(report.items[0].package == "beta");
    CHECK(report.items[0].status == ItemStatus::planned);
    CHECK(keys_of(store).empty());
    SECTION("a missing input dir is nothing to upload") {
        CHECK(mip::Uploader(store, {.input_dir = tmp / "absent"}, run_options())
                  .upload()
                  .items.empty());
    }
}

TEST_CASE("upload refuses bundles whose bytes or sidecar do not match", "[uploader]") {
    TempDir tmp;
    const auto bundled = bundle_packages(tmp, {"alpha", "beta"});
    mip::LocalStore store(tmp / "store");
    SECTION("a bundle changed after bundling") {
        const auto mhl = bundled / (wheel_of("alpha") + ".mhl");
        auto bytes = mip::test::read_file(mhl);
        bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x55);
        mip::test::write_file(mhl, bytes);
        const auto report = mip::Uploader(store, {.input_dir = bundled}, run_options()).upload();
        REQUIRE(report.items.size() == 2);
        CHECK(report.items[0].status == ItemStatus::failed);
        CHECK(report.items[0].error_code == mip::ErrorCode::invalid_spec);
        CHECK(report.items[0].detail.find("mhl_sha256") != std::string::npos);
        // Nothing of it is written. Without --keep-going no package starts after the mismatch
        // is found; one already started (beta, verified first) is complete, else absent.
        for (const auto& key : keys_of(store)) {
            CHECK(key.find(wheel_of("alpha")) == std::string::npos);
        }
        const bool beta_published = store.get(wheel_of("beta") + ".mhl.mip.json").has_value();
        CHECK(report.items[1].status == (beta_published ? ItemStatus::done : ItemStatus::skipped));
    }
    SECTION("a missing sidecar fails that package; keep_going uploads the others") {
        fs::remove(bundled / (wheel_of("alpha") + ".mhl.mip.json"));
        auto run = run_options();
        run.keep_going = true;
        const auto report = mip::Uploader(store, {.input_dir = bundled}, run).upload();
        REQUIRE(report.items.size() == 2);
        CHECK(report.items[0].status == ItemStatus::failed);
        CHECK(report.items[0].detail.find("sidecar") != std::string::npos);
        CHECK(report.items[1].status == ItemStatus::done);
        CHECK(store.get(wheel_of("beta") + ".mhl.mip.json"));
        CHECK_FALSE(store.get(wheel_of("alpha") + ".mhl"));
    }
}

TEST_CASE("upload needs a usable base URL", "[uploader]") {
    TempDir tmp;
    const auto bundled = bundle_packages(tmp, {"alpha"});
    mip::LocalStore store(tmp / "store");
    auto run = run_options();
    run.base_url = "http://pkgs.example.org/core";
    CHECK_THROWS_AS(mip::Uploader(store, {.input_dir = bundled}, run).upload(), mip::SpecError);
    run.base_url.clear();  // a local store has a file:// default
    const auto report = mip::Uploader(store, {.input_dir = bundled}, run).upload();
    REQUIRE(report.items.size() == 1);
    CHECK(report.items[0].path.rfind(store.default_base_url() + "/sha256/", 0) == 0);
}

TEST_CASE("with flat URLs, other published bytes need allow_overwrite", "[uploader]") {
    TempDir tmp;
    const auto bundled = bundle_packages(tmp, {"alpha"});
    mip::LocalStore store(tmp / "store");
    auto run = run_options();
    run.flat_urls = true;
    REQUIRE(mip::Uploader(store, {.input_dir = bundled}, run).upload().ok());
    CHECK(keys_of(store) == std::vector<std::string>{wheel_of("alpha") + ".mhl",
                                                     wheel_of("alpha") + ".mhl.mip.json",
                                                     "mip-index-manifest.json"});
    // The same package bundled again with other contents.
    TempDir other;
    const auto prepared = other / "prepared";
    const auto dir = mip::test::make_prepared_dir(prepared, "alpha");
    mip::test::write_file(dir / "src" / "extra.m", "function extra\nend\n");
    REQUIRE(mip::Bundler({.input_dir = prepared, .output_dir = other / "bundled"}, {})
                .bundle_all()
                .ok());
    const auto refused =
        mip::Uploader(store, {.input_dir = other / "bundled"}, run).upload().items.at(0);
    CHECK(refused.status == ItemStatus::failed);
    CHECK(refused.error_code == mip::ErrorCode::io);  // a local store: no HTTP status
    CHECK(refused.detail.find("--allow-overwrite") != std::string::npos);
    const auto replaced =
        mip::Uploader(store, {.input_dir = other / "bundled", .allow_overwrite = true}, run)
            .upload()
            .items.at(0);
    CHECK(replaced.status == ItemStatus::done);
    CHECK(store.get(wheel_of("alpha") + ".mhl") ==
          mip::test::read_file(other / "bundled" / (wheel_of("alpha") + ".mhl")));
}

TEST_CASE("above 32 packages the published check is one listing", "[uploader]") {
    TempDir tmp;
    std::vector<std::string> names;
    names.reserve(40);
    for (int i = 0; i < 40; ++i) {
        names.push_back("pkg" + std::to_string(100 + i));
    }
    const auto bundled = bundle_packages(tmp, names);
    mip::LocalStore local(tmp / "store");
    mip::test::CountingStore store(local);
    REQUIRE(mip::Uploader(store, {.input_dir = bundled}, run_options()).upload().ok());
    store.reset();
    const auto again = mip::Uploader(store, {.input_dir = bundled}, run_options()).upload();
    REQUIRE(again.items.size() == 40);
    CHECK(again.count(ItemStatus::skipped) == 40);
    CHECK(store.lists == 1);
    CHECK(store.single_gets == 0);
}

TEST_CASE("an Octave build goes to a local store, not to S3 unless allowed",
          "[uploader][integration]") {
    TempDir tmp;
    const auto bundled = bundle_packages(tmp, {"alpha"});
    set_engine(bundled, "alpha", "octave 7.3.0");
    mip::LocalStore local(tmp / "store");
    CHECK(mip::Uploader(local, {.input_dir = bundled}, run_options()).upload().ok());

    mip::test::S3Servers servers(tmp / "s3");
    mip::R2Client client(servers.config("core/packages"));
    const auto refused = mip::Uploader(client, {.input_dir = bundled}, run_options()).upload();
    REQUIRE(refused.items.size() == 1);
    CHECK(refused.items[0].status == ItemStatus::failed);
    CHECK(refused.items[0].error_code == mip::ErrorCode::build_failed);
    CHECK(refused.items[0].detail.find("--allow-octave-builds") != std::string::npos);
    CHECK(client.list("").empty());
    const auto allowed =
        mip::Uploader(client, {.input_dir = bundled, .allow_octave_builds = true}, run_options())
            .upload();
    CHECK(allowed.ok());
    CHECK(client.list("").size() == 3);  // the content-addressed bundle, sidecar, index manifest
    mip::test::require_clean_log(servers);
}

TEST_CASE(
    "upload to S3: create-only bundle then sidecar, a server-side flat copy only where the store "
    "has flat names; a rerun reads nothing it can prove by ETag",
    "[uploader][integration]") {
    TempDir tmp;
    std::vector<std::string> names;
    names.reserve(34);
    for (int i = 0; i < 34; ++i) {  // above the listing threshold
        names.push_back("s3pkg" + std::to_string(10 + i));
    }
    const auto bundled = bundle_packages(tmp, names);
    mip::test::S3Servers servers(tmp / "s3");
    mip::R2Client client(servers.config("core/packages"));
    const auto report = mip::Uploader(client, {.input_dir = bundled}, run_options()).upload();
    REQUIRE(report.ok());
    CHECK(report.count(ItemStatus::done) == names.size());
    const auto wheel = wheel_of(names.front());
    const auto digest = mip::detail::sha256_file_hex(bundled / (wheel + ".mhl"));
    CHECK(client.get("sha256/" + digest + "/" + wheel + ".mhl") ==
          mip::test::read_file(bundled / (wheel + ".mhl")));
    CHECK_FALSE(client.get(wheel + ".mhl"));  // a new store: no flat copy
    const auto records = servers.records();
    using nlohmann::json;
    auto ends_with = [](const std::string& s, const std::string& tail) {
        return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
    };
    auto count = [&](auto pred) { return std::count_if(records.begin(), records.end(), pred); };
    const auto n = static_cast<long>(names.size());
    // Per package: the bundle create-only and immutable, the sidecar as JSON; two requests.
    auto bundles = [](const json& r) {
        return r["method"] == "PUT" &&
               r["path"].get<std::string>().find("/sha256/") != std::string::npos &&
               r["if_none_match"] == "*" &&
               r["cache_control"] == "public, max-age=31536000, immutable";
    };
    auto flat_copies = [&](const json& r) {
        const auto path = r["path"].get<std::string>();
        return r["method"] == "PUT" && ends_with(path, ".mhl") &&
               path.find("/sha256/") == std::string::npos && r["body_bytes"] == 0 &&
               r.dump().find("x-amz-copy-source") != std::string::npos;
    };
    auto sidecars = [&](const json& r) {
        return r["method"] == "PUT" && ends_with(r["path"].get<std::string>(), ".mhl.mip.json") &&
               r["content_type"] == "application/json";
    };
    CHECK(count(bundles) == n);
    CHECK(count(flat_copies) == 0);
    CHECK(count(sidecars) == n);
    CHECK(count([](const json& r) { return r["method"] == "PUT"; }) == 2 * n + 1);  // + manifest
    mip::test::require_clean_log(servers);

    const auto before = records.size();
    const auto again = mip::Uploader(client, {.input_dir = bundled}, run_options()).upload();
    CHECK(again.count(ItemStatus::skipped) == names.size());
    const auto after = servers.records();
    // The rerun only listed (every sidecar's ETag is the MD5 of the sidecar it would write) and
    // read the index manifest once, which already names every sidecar: nothing is written.
    std::size_t manifest_reads = 0;
    for (std::size_t i = before; i < after.size(); ++i) {
        INFO(after[i].dump());
        CHECK(after[i]["method"] == "GET");
        if (ends_with(after[i]["path"].get<std::string>(), "/mip-index-manifest.json")) {
            ++manifest_reads;
            continue;
        }
        CHECK(after[i]["query"].get<std::string>().find("list-type=2") != std::string::npos);
    }
    CHECK(manifest_reads == 1);
    CHECK(after.size() > before);

    // A store that holds flat names (here one of the reference layout) gets the flat copy, as a
    // server-side copy: three requests per package, the listing deciding at no extra cost.
    mip::R2Client legacy(servers.config("legacy/packages"));
    REQUIRE(legacy.put({.key = "old-0.1.0-any-none-any.mhl", .data = "old bytes"}).written);
    const auto start = servers.records().size();
    REQUIRE(mip::Uploader(legacy, {.input_dir = bundled}, run_options()).upload().ok());
    CHECK(legacy.get(wheel + ".mhl") == mip::test::read_file(bundled / (wheel + ".mhl")));
    const auto all = servers.records();
    const std::vector<json> copied(all.begin() + static_cast<long>(start), all.end());
    auto in = [&](auto pred) { return std::count_if(copied.begin(), copied.end(), pred); };
    CHECK(in(bundles) == n);
    CHECK(in(flat_copies) == n);
    CHECK(in(sidecars) == n);
    mip::test::require_clean_log(servers);
}
