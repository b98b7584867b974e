// The index assembler's cache and `mip-build index`'s spliced path (detail/index_cache.hpp): a
// warm run's index.json, packages.html and feeds are byte-identical to a cold full assembly's
// after changes, removals, additions and a corrupt or foreign cache file.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <mip/index_assembler.hpp>
#include <mip/local_store.hpp>
#include <mip/package_spec.hpp>

#include "detail/index_cache.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using mip::PackageSpec;
using mip::test::TempDir;

namespace {

constexpr std::int64_t epoch = 1700000000;
const char* const site_files[] = {"index.json", "packages.html", "feed.json", "feed.xml"};

PackageSpec spec(const std::string& name, const std::string& version, const std::string& dep = "") {
    PackageSpec s;
    s.name = name;
    s.version = version;
    s.description = "package " + name + " " + version;
    s.license = "MIT";
    s.exposed_symbols = {name + "_fn"};
    s.timestamp = "2024-01-0" + std::to_string(1 + name.size() % 9) + "T03:04:05Z";
    s.mhl_sha256 = std::string(64, 'a');
    s.mhl_size = 1000 + name.size();
    s.source_json = R"({"type":"git","url":"https://github.com/x/)" + name +
                    R"(.git","commit":"0123456789abcdef0123456789abcdef01234567"})";
    if (!dep.empty()) {
        s.dependencies = {dep};
    }
    return s;
}

void put(mip::Store& store, const std::string& key, const std::string& data) {
    mip::PutRequest r;
    r.key = key;
    r.data = data;
    REQUIRE(store.put(r).written);
}

std::string publish(mip::Store& store, const PackageSpec& s) {
    auto key = s.wheel_name() + ".mhl.mip.json";
    put(store, key, s.to_json());
    return key;
}

struct Setup : mip::IndexOptions, mip::RunOptions {
    std::vector<std::string> warnings;
};

Setup setup(const fs::path& cache_dir, const std::string& base = "https://example.org/core") {
    Setup o;
    o.base_url = base;
    o.source_date_epoch = epoch;
    o.cache_dir = cache_dir;
    o.logger = mip::Logger(
        [&w = o.warnings](mip::LogLevel level, std::string_view m) {
            if (level == mip::LogLevel::warning) {
                w.emplace_back(m);
            }
        },
        mip::LogLevel::warning);
    return o;
}

std::map<std::string, std::string> read_site(const fs::path& dir) {
    std::map<std::string, std::string> out;
    for (const char* f : site_files) {
        out[f] = mip::test::read_file(dir / f);
    }
    return out;
}

/// A cold full assembly through the public API, written: the reference bytes.
std::map<std::string, std::string> full(mip::Store& store,
                                        const fs::path& dir,
                                        const std::string& base = "https://example.org/core") {
    auto o = setup({}, base);
    mip::IndexAssembler::write(mip::IndexAssembler(store, o, o).assemble(), dir);
    return read_site(dir);
}

struct Run {
    mip::detail::IndexSite site;
    std::map<std::string, std::string> files;
};

Run site_run(mip::Store& store, Setup& o, const fs::path& dir) {
    Run r;
    r.site = mip::detail::assemble_index_site(store, o, o);
    mip::detail::write_index_site(r.site, dir);
    r.files = read_site(dir);
    return r;
}

/// The cache file a cold run writes for the store as it is now.
std::string cold_cache(mip::Store& store,
                       const fs::path& cache_dir,
                       const fs::path& site_dir,
                       const std::string& base = "https://example.org/core") {
    auto o = setup(cache_dir, base);
    (void)site_run(store, o, site_dir);
    return mip::test::read_file(cache_dir / std::string(mip::detail::index_cache_name));
}

/// A store whose `list_and_get` never reports a GET early (`BatchOptions::on_got` dropped): the
/// index then parses every sidecar after the GETs, not as each arrives.
class NoEarlyResults final : public mip::Store {
public:
    explicit NoEarlyResults(mip::Store& inner) : inner_(inner) {}
    [[nodiscard]] std::string describe() const override { return inner_.describe(); }
    [[nodiscard]] std::string default_base_url() const override {
        return inner_.default_base_url();
    }
    mip::PutResult put(const mip::PutRequest& r) override { return inner_.put(r); }
    [[nodiscard]] std::optional<std::string> get(const std::string& key) override {
        return inner_.get(key);
    }
    bool get_to_file(const std::string& key, const fs::path& to) override {
        return inner_.get_to_file(key, to);
    }
    [[nodiscard]] std::optional<mip::ObjectInfo> head(const std::string& key) override {
        return inner_.head(key);
    }
    [[nodiscard]] std::vector<mip::ObjectInfo> list(const std::string& prefix,
                                                    bool recursive) override {
        return inner_.list(prefix, recursive);
    }
    void remove(const std::string& key) override { inner_.remove(key); }
    [[nodiscard]] std::vector<mip::ListedObject> list_and_get(
        const std::string& prefix,
        bool recursive,
        const mip::ListedGetFilter& want,
        const mip::BatchOptions& options) override {
        auto quiet = options;
        early = early || static_cast<bool>(options.on_got);
        quiet.on_got = nullptr;
        return inner_.list_and_get(prefix, recursive, want, quiet);
    }
    bool early = false;  ///< the caller asked for early results

private:
    mip::Store& inner_;
};

ino_t inode(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_ino;
}

}  // namespace

TEST_CASE("a warm spliced index run equals a cold full assembly", "[index][index_cache]") {
    TempDir tmp;
    mip::LocalStore store(tmp / "store");
    auto alpha = spec("alpha", "1.0");
    (void)publish(store, alpha);
    (void)publish(store, spec("alpha", "1.10"));
    (void)publish(store, spec("beta", "2.0", "alpha"));
    (void)publish(store, spec("gamma", "0.1", "missing"));  // a warning
    auto legacy = spec("legacy", "1.0");
    legacy.mhl_url.reset();  // R2-era: mhl_url made from the base URL
    (void)publish(store, legacy);
    put(store, "broken-1.0-any-none-any.mhl.mip.json", "{broken");  // skipped
    const auto cache = tmp / "cache";
    const auto cache_file = cache / std::string(mip::detail::index_cache_name);
    auto o = setup(cache);

    auto cold = site_run(store, o, tmp / "cold");
    CHECK(cold.files == full(store, tmp / "full0"));
    CHECK(cold.site.total_packages == 5);
    CHECK(cold.site.result.skipped.size() == 1);
    CHECK(cold.site.result.warnings.size() == 1);
    CHECK(cold.site.document.has_value());
    REQUIRE(fs::is_regular_file(cache_file));

    SECTION("unchanged: nothing parsed or downloaded, the cache not rewritten") {
        auto before = inode(cache_file);
        auto page_before = inode(tmp / "cold" / "packages.html");
        auto again = site_run(store, o, tmp / "cold");  // same bytes: no file replaced
        CHECK(again.files == cold.files);
        CHECK(inode(tmp / "cold" / "packages.html") == page_before);
        auto warm = site_run(store, o, tmp / "warm");
        CHECK(warm.files == cold.files);
        CHECK(warm.site.result.sidecars_downloaded == 0);
        CHECK(warm.site.result.skipped == cold.site.result.skipped);  // still reported
        CHECK(warm.site.result.warnings == cold.site.result.warnings);
        CHECK(inode(cache_file) == before);
    }
    SECTION("a change, a removal and an addition") {
        alpha.description = "a new description";
        (void)publish(store, alpha);
        store.remove(spec("beta", "2.0", "alpha").wheel_name() + ".mhl.mip.json");
        (void)publish(store, spec("delta", "3.0", "gamma"));
        auto warm = site_run(store, o, tmp / "warm");
        CHECK(warm.site.result.sidecars_downloaded == 2);
        CHECK(warm.files == full(store, tmp / "full1"));
        CHECK(warm.files["index.json"].find("a new description") != std::string::npos);
        // the cache it wrote (unchanged items copied as read) equals a cold run's
        CHECK_THAT(mip::test::read_file(cache_file),
                   Catch::Equals(cold_cache(store, tmp / "cache-cold", tmp / "cold1")));
        // and once more from the cache this run wrote
        auto again = site_run(store, o, tmp / "again");
        CHECK(again.site.result.sidecars_downloaded == 0);
        CHECK(again.files == warm.files);
    }
    SECTION("another base URL: every entry made again") {
        auto other = setup(cache, "https://mirror.example.net/core");
        auto warm = site_run(store, other, tmp / "warm");
        CHECK(warm.site.result.sidecars_downloaded == 0);
        CHECK(warm.files == full(store, tmp / "full2", "https://mirror.example.net/core"));
        CHECK_THAT(mip::test::read_file(cache_file),
                   Catch::Equals(cold_cache(store, tmp / "cache-cold", tmp / "cold2",
                                            "https://mirror.example.net/core")));
    }
    SECTION("a corrupt or foreign cache file: a warning and a full assembly") {
        const auto good = mip::test::read_file(cache_file);
        const std::string bad =
            GENERATE(as<std::string>{}, "", "{\"a\": {\"etag\": 1}}",
                     "mip-index-cache 2\n99999999999:", "truncated", "appended", "garbage");
        std::string text = bad;
        if (bad == "truncated") {
            text = good.substr(0, good.size() * 2 / 3);
        } else if (bad == "appended") {
            text = good + "x";
        } else if (bad == "garbage") {
            text = good;
            text[good.size() / 2] = '\x01';
            text[good.size() / 2 + 1] = ':';
        }
        mip::test::write_file(cache_file, text);
        o.warnings.clear();
        auto warm = site_run(store, o, tmp / "warm");
        CHECK(warm.files == cold.files);
        CHECK(warm.site.result.sidecars_downloaded == 6);
        REQUIRE(!o.warnings.empty());
        CHECK(o.warnings.front().find("ignoring unreadable index cache " + cache_file.string()) ==
              0);
        CHECK(mip::test::read_file(cache_file) == good);  // rewritten whole
    }
    SECTION("sidecars parsed as they arrive or after the GETs: the same index") {
        NoEarlyResults late(store);
        auto o2 = setup({});
        auto after = site_run(late, o2, tmp / "late");
        CHECK(late.early);  // the index asks for early results; the run above used them
        CHECK(after.files == cold.files);
        CHECK(after.site.result.skipped == cold.site.result.skipped);
        CHECK(after.site.result.warnings == cold.site.result.warnings);
        auto api_late = mip::IndexAssembler(late, o2, o2).assemble();
        auto o3 = setup({});
        auto api_early = mip::IndexAssembler(store, o3, o3).assemble();
        REQUIRE(api_late.packages.size() == api_early.packages.size());
        for (std::size_t i = 0; i < api_late.packages.size(); ++i) {
            CHECK(api_late.packages[i].to_json() == api_early.packages[i].to_json());
        }
        CHECK(api_late.skipped == api_early.skipped);
    }
    SECTION("the public API over the same cache gives the same packages") {
        auto api = mip::IndexAssembler(store, o, o).assemble();
        CHECK(api.sidecars_downloaded == 0);
        CHECK(api.packages.size() == 5);
        CHECK(api.index_json() == cold.files["index.json"]);
    }
}

TEST_CASE("an empty store gives the same empty index both ways", "[index][index_cache]") {
    TempDir tmp;
    mip::LocalStore store(tmp / "store");
    auto o = setup(tmp / "cache");
    auto r = site_run(store, o, tmp / "site");
    CHECK(r.files == full(store, tmp / "full"));
    CHECK(r.site.total_packages == 0);
}
