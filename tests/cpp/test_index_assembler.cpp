// IndexAssembler over a real LocalStore: sidecars written with PackageSpec, assembled with a fixed
// SOURCE_DATE_EPOCH; document shape, order, bad sidecars, verification, output files, ETag cache.

#include <algorithm>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <mip/error.hpp>
#include <mip/index_assembler.hpp>
#include <mip/local_store.hpp>
#include <mip/package_spec.hpp>

#include "counting_store.hpp"
#include "detail/crypto.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using mip::IndexAssembler;
using mip::IndexOptions;
using mip::LocalStore;
using mip::PackageSpec;
using mip::test::TempDir;
using OrderedJson = nlohmann::ordered_json;

namespace {

const std::string base = "https://example.org/core/packages";
constexpr std::int64_t epoch = 1700000000;  // 2023-11-14T22:13:20Z

PackageSpec make_spec(const std::string& name,
                      const std::string& version,
                      const std::string& platform_tag = "any",
                      const std::string& matlab_tag = "any",
                      const std::string& abi_tag = "none") {
    PackageSpec s;
    s.name = name;
    s.version = version;
    s.matlab_tag = matlab_tag;
    s.abi_tag = abi_tag;
    s.platform_tag = platform_tag;
    s.description = "package " + name + " " + version;
    s.license = "MIT";
    s.exposed_symbols = {name + "_fn"};
    s.timestamp = "2024-01-02T03:04:05Z";
    return s;
}

void put(mip::Store& store, const std::string& key, const std::string& data) {
    mip::PutRequest r;
    r.key = key;
    r.data = data;
    REQUIRE(store.put(r).written);
}

std::string sidecar_key(const PackageSpec& spec) { return spec.wheel_name() + ".mhl.mip.json"; }

/// What bundle + upload leave in a store: the write-once and flat `.mhl` and the sidecar with
/// mhl_sha256/mhl_size/mhl_url. `legacy` omits mhl_url (R2-era sidecars). Returns the key.
std::string publish(mip::Store& store, PackageSpec spec, bool legacy = false) {
    const std::string wheel = spec.wheel_name();
    const std::string mhl = "PK fake archive of " + wheel;
    const std::string hex = mip::detail::sha256_hex(mhl);
    spec.mhl_sha256 = hex;
    spec.mhl_size = mhl.size();
    if (!legacy) {
        spec.mhl_url = base + "/sha256/" + hex + "/" + wheel + ".mhl";
    }
    put(store, "sha256/" + hex + "/" + wheel + ".mhl", mhl);
    put(store, wheel + ".mhl", mhl);
    put(store, sidecar_key(spec), spec.to_json());
    return sidecar_key(spec);
}

/// The assembler's own options and the shared block in one value (`o.strict`, `o.base_url`).
struct IndexSetup : IndexOptions, mip::RunOptions {};

IndexSetup options(bool strict = false) {
    IndexSetup o;
    o.base_url = base;
    o.source_date_epoch = epoch;
    o.strict = strict;
    return o;
}

mip::IndexResult assemble(mip::Store& store, const IndexSetup& o = options()) {
    return IndexAssembler(store, o, o).assemble();
}

std::vector<std::string> wheels(const mip::IndexResult& r) {
    std::vector<std::string> out;
    for (const auto& p : r.packages) {
        out.push_back(p.wheel_name());
    }
    return out;
}

std::vector<std::string> object_keys(const OrderedJson& j) {
    std::vector<std::string> out;
    for (auto it = j.begin(); it != j.end(); ++it) {
        out.push_back(it.key());
    }
    return out;
}

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
        ++n;
    }
    return n;
}

}  // namespace

TEST_CASE("index.json has the documented shape, key order and entries", "[index]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    auto alpha = make_spec("alpha", "1.0");
    alpha.description = "caf\xc3\xa9 <b>";  // non-ASCII stays unescaped
    alpha.dependencies = {"beta"};
    alpha.homepage = "https://example.org/alpha";
    alpha.source_json =
        R"({"type":"git","url":"https://example.org/a.git","ref":null,"commit":"0123456789012345678901234567890123456789"})";
    alpha.build_info =
        mip::BuildInfo::from_json(R"({"source_date_epoch":1700000000,"recipe_sha256":"abc"})");
    alpha.extra_fields = {{"x_custom", R"({"k":[1,2]})"}};
    auto alpha_key = publish(store, alpha);
    auto beta_key = publish(store, make_spec("beta", "2.0"));

    auto result = assemble(store);
    CHECK(result.sidecars_listed == 2);
    CHECK(result.sidecars_downloaded == 2);
    CHECK(result.skipped.empty());
    CHECK(result.warnings.empty());
    CHECK(result.last_updated == "2023-11-14T22:13:20Z");

    auto text = result.index_json();
    CHECK(text.back() == '\n');
    CHECK(text.rfind("{\n  \"packages\": [\n    {\n      \"name\": \"alpha\",\n", 0) == 0);
    CHECK(text.find("caf\xc3\xa9 <b>") != std::string::npos);

    auto doc = OrderedJson::parse(text);
    CHECK(object_keys(doc) ==
          std::vector<std::string>{"packages", "total_packages", "last_updated"});
    CHECK(doc["total_packages"] == 2);
    CHECK(doc["last_updated"] == "2023-11-14T22:13:20Z");
    REQUIRE(doc["packages"].size() == 2);

    const auto& a = doc["packages"][0];
    CHECK(a.at("name") == "alpha");
    CHECK(a.at("mip_json_url") == base + "/" + alpha_key);
    CHECK(a.at("mhl_url") == base + "/sha256/" + a.at("mhl_sha256").get<std::string>() + "/" +
                                 alpha.wheel_name() + ".mhl");
    CHECK(doc["packages"][1]["mip_json_url"] == base + "/" + beta_key);

    // §3 key order: the table, then unknown keys in read order.
    std::vector<std::string> expected_order = {"name",
                                               "description",
                                               "version",
                                               "build_number",
                                               "dependencies",
                                               "homepage",
                                               "repository",
                                               "license",
                                               "matlab_tag",
                                               "abi_tag",
                                               "platform_tag",
                                               "usage_examples",
                                               "exposed_symbols",
                                               "timestamp",
                                               "prepare_duration",
                                               "compile_duration",
                                               "mhl_url",
                                               "mhl_sha256",
                                               "mhl_size",
                                               "mip_json_url",
                                               "source",
                                               "build_info",
                                               "x_custom"};
    CHECK(object_keys(a) == expected_order);

    // Every sidecar field is kept; the index adds only mip_json_url.
    auto sidecar = nlohmann::json::parse(*store.get(alpha_key));
    auto entry = nlohmann::json::parse(a.dump());
    CHECK(entry.at("mip_json_url") == base + "/" + alpha_key);
    entry.erase("mip_json_url");
    CHECK(entry == sidecar);
    CHECK(entry["x_custom"] == nlohmann::json::parse(R"({"k":[1,2]})"));
    CHECK(entry["build_info"]["recipe_sha256"] == "abc");

    // Deterministic: a second assembly gives the same bytes.
    CHECK(assemble(store).index_json() == text);
}

TEST_CASE("a legacy sidecar without mhl_url gets <base>/<wheel>.mhl", "[index]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    auto spec = make_spec("legacy", "0.5");
    auto key = publish(store, spec, /*legacy=*/true);
    SECTION("explicit base") {
        auto r = assemble(store);
        REQUIRE(r.packages.size() == 1);
        CHECK(r.packages[0].mhl_url == base + "/legacy-0.5-any-none-any.mhl");
        CHECK(r.packages[0].mip_json_url == base + "/" + key);
    }
    SECTION("a trailing slash on the base is not doubled") {
        auto o = options();
        o.base_url = base + "/";
        auto r = assemble(store, o);
        REQUIRE(r.packages.size() == 1);
        CHECK(r.packages[0].mhl_url == base + "/legacy-0.5-any-none-any.mhl");
        CHECK(r.packages[0].mip_json_url == base + "/" + key);
    }
    SECTION("no base: the local store's file:// URL") {
        auto o = options();
        o.base_url.clear();
        auto r = assemble(store, o);
        REQUIRE(r.packages.size() == 1);
        auto store_url = "file://" + store.root().string();
        CHECK(r.packages[0].mhl_url == store_url + "/legacy-0.5-any-none-any.mhl");
        CHECK(r.packages[0].mip_json_url == store_url + "/" + key);
    }
    SECTION("a plain http base is refused") {
        auto o = options();
        o.base_url = "http://example.org/core/packages";
        REQUIRE_THROWS_AS(assemble(store, o), mip::SpecError);
    }
}

namespace {
struct Variant {
    std::string name;
    std::string version;
    std::string matlab_tag = "any";
    std::string abi_tag = "none";
    std::string platform_tag = "any";
};

/// Index order per §5: name bytewise; version descending with all-digit dotted versions first
/// (integer tuples, missing parts 0; the full string breaks ties), others bytewise after them;
/// then matlab_tag, abi_tag, platform_tag.
const std::vector<Variant>& variants_in_index_order() {
    static const std::vector<Variant> v = {
        {"Zeta", "1.0"},  // 'Z' < 'a' bytewise
        {"alpha", "10.0"},
        {"alpha", "2"},
        {"alpha", "1.10"},
        {"alpha", "1.9"},
        {"alpha", "1.2.10"},
        {"alpha", "1.2.0"},  // equal to 1.2 as a tuple: the full string breaks the tie
        {"alpha", "1.2"},
        {"alpha", "unspecified"},  // non-numeric versions come after every numeric one
        {"alpha", "dev"},
        {"alpha", "1.0rc1"},
        {"beta", "1.0", "R2023b", "none", "any"},
        {"beta", "1.0", "any", "mip1", "any"},
        {"beta", "1.0", "any", "none", "any"},
        {"beta", "1.0", "any", "none", "linux_x86_64"},
    };
    return v;
}

std::vector<std::string> expected_wheels() {
    std::vector<std::string> out;
    for (const auto& v : variants_in_index_order()) {
        out.push_back(
            make_spec(v.name, v.version, v.platform_tag, v.matlab_tag, v.abi_tag).wheel_name());
    }
    return out;
}
}  // namespace

TEST_CASE("entries are ordered by name, version descending, then tags", "[index]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    for (const auto& v : variants_in_index_order()) {
        (void)publish(store, make_spec(v.name, v.version, v.platform_tag, v.matlab_tag, v.abi_tag));
    }
    auto r = assemble(store);
    CHECK(r.skipped.empty());
    CHECK(wheels(r) == expected_wheels());
    auto doc = OrderedJson::parse(r.index_json());
    REQUIRE(doc["packages"].size() == expected_wheels().size());
    CHECK(doc["packages"][1]["version"] == "10.0");
}

TEST_CASE("index_order_less does not depend on the input order", "[index]") {
    std::vector<PackageSpec> specs;
    for (const auto& v : variants_in_index_order()) {
        specs.push_back(make_spec(v.name, v.version, v.platform_tag, v.matlab_tag, v.abi_tag));
    }
    std::mt19937 rng(12345);
    for (int round = 0; round < 20; ++round) {
        auto shuffled = specs;
        std::shuffle(shuffled.begin(), shuffled.end(), rng);
        std::sort(shuffled.begin(), shuffled.end(), mip::index_order_less);
        CHECK(shuffled == specs);
    }
    // A strict weak order: irreflexive, and 1.2 / 1.2.0 are still distinguished.
    for (const auto& s : specs) {
        CHECK_FALSE(mip::index_order_less(s, s));
    }
    auto a = make_spec("p", "1.2");
    auto b = make_spec("p", "1.2.0");
    CHECK(mip::index_order_less(a, b) != mip::index_order_less(b, a));
    // mhl_url is the last tie-breaker.
    a = make_spec("p", "1.0");
    b = a;
    a.mhl_url = base + "/a.mhl";
    b.mhl_url = base + "/b.mhl";
    CHECK(mip::index_order_less(a, b));
    CHECK_FALSE(mip::index_order_less(b, a));
}

namespace {
/// Bad sidecars: (key, content, a word the reason must contain).
struct BadSidecar {
    std::string key;
    std::string content;
    std::string reason_word;
};

std::vector<BadSidecar> bad_sidecars() {
    auto valid = make_spec("trunc", "1.0").to_json();
    auto other = make_spec("other", "1.0");
    auto insecure = make_spec("insecure", "1.0");
    insecure.mhl_url = "http://example.org/core/packages/insecure-1.0-any-none-any.mhl";
    auto deps = nlohmann::json::parse(make_spec("depstr", "1.0").to_json());
    deps["dependencies"] = "beta";
    return {
        {"corrupt-1.0-any-none-any.mhl.mip.json", "{not json at all", "JSON"},
        {"trunc-1.0-any-none-any.mhl.mip.json", valid.substr(0, valid.size() / 2), "JSON"},
        {"mismatch-1.0-any-none-any.mhl.mip.json", other.to_json(), "other-1.0-any-none-any"},
        {"insecure-1.0-any-none-any.mhl.mip.json", insecure.to_json(), "https"},
        {"depstr-1.0-any-none-any.mhl.mip.json", deps.dump(2), "dependencies"},
        {"array-1.0-any-none-any.mhl.mip.json", "[1, 2, 3]", "object"},
    };
}
}  // namespace

TEST_CASE("bad sidecars are skipped and reported by key, or fail under strict", "[index]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    (void)publish(store, make_spec("good", "1.0"));
    auto bad = bad_sidecars();
    for (const auto& b : bad) {
        put(store, b.key, b.content);
    }

    auto r = assemble(store);
    CHECK(wheels(r) == std::vector<std::string>{"good-1.0-any-none-any"});
    CHECK(r.sidecars_listed == bad.size() + 1);
    REQUIRE(r.skipped.size() == bad.size());
    for (const auto& b : bad) {
        INFO("key " << b.key);
        auto it = std::find_if(r.skipped.begin(), r.skipped.end(),
                               [&](const mip::SkippedSidecar& s) { return s.key == b.key; });
        REQUIRE(it != r.skipped.end());
        INFO("reason " << it->reason);
        CHECK(it->reason.find(b.reason_word) != std::string::npos);
    }
    auto doc = OrderedJson::parse(r.index_json());
    CHECK(doc["total_packages"] == 1);

    SECTION("strict: each bad sidecar alone fails the assembly, naming its key") {
        for (const auto& b : bad) {
            TempDir one;
            LocalStore s(one / "store");
            (void)publish(s, make_spec("good", "1.0"));
            put(s, b.key, b.content);
            INFO("key " << b.key);
            try {
                (void)assemble(s, options(/*strict=*/true));
                FAIL("no exception");
            } catch (const mip::SpecError& e) {
                CHECK(std::string(e.what()).find(b.key) != std::string::npos);
            }
        }
    }
}

// SPEC DEVIATION (libmip/src/index_assembler.cpp, IndexAssembler::assemble, via
// PackageSpec::from_json): §5 says assembly validates that `name`, `version`, `dependencies`
// and `platform_tag` are *present*; from_json fills the defaults ([] / "any" / "unspecified")
// instead, so such a sidecar is accepted silently.
TEST_CASE("a sidecar missing a required field is skipped", "[index]") {
    auto field =
        GENERATE(std::string("dependencies"), std::string("platform_tag"), std::string("version"));
    INFO("missing " << field);
    TempDir tmp;
    LocalStore store(tmp / "store");
    (void)publish(store, make_spec("good", "1.0"));
    auto spec = make_spec("partial", "unspecified");
    spec.mhl_url = base + "/partial-unspecified-any-none-any.mhl";
    auto j = nlohmann::ordered_json::parse(spec.to_json());
    j.erase(field);
    put(store, sidecar_key(spec), j.dump(2));
    auto r = assemble(store);
    CHECK(wheels(r) == std::vector<std::string>{"good-1.0-any-none-any"});
    REQUIRE(r.skipped.size() == 1);
    CHECK(r.skipped[0].key == sidecar_key(spec));
}

TEST_CASE("names that collide after normalisation are an error even without strict", "[index]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    (void)publish(store, make_spec("Foo-Bar", "1.0"));
    (void)publish(store, make_spec("foo_bar", "2.0"));
    (void)publish(store, make_spec("other", "1.0"));
    try {
        (void)assemble(store);
        FAIL("no exception");
    } catch (const mip::SpecError& e) {
        std::string what = e.what();
        CHECK(what.find("Foo-Bar") != std::string::npos);
        CHECK(what.find("foo_bar") != std::string::npos);
    }
}

TEST_CASE("several versions of one name are not a collision", "[index]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    (void)publish(store, make_spec("Foo-Bar", "1.0"));
    (void)publish(store, make_spec("Foo-Bar", "2.0"));
    auto r = assemble(store);
    CHECK(wheels(r) ==
          std::vector<std::string>{"Foo-Bar-2.0-any-none-any", "Foo-Bar-1.0-any-none-any"});
}

TEST_CASE("a dependency missing from the index warns, or fails under strict", "[index]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    auto app = make_spec("app", "1.0");
    app.dependencies = {"libx", "LibY"};  // LibY resolves to liby: names compare normalised
    (void)publish(store, app);
    (void)publish(store, make_spec("liby", "3.0"));

    auto r = assemble(store);
    CHECK(wheels(r) == std::vector<std::string>{"app-1.0-any-none-any", "liby-3.0-any-none-any"});
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].find("libx") != std::string::npos);
    CHECK(r.warnings[0].find("LibY") == std::string::npos);
    CHECK(r.skipped.empty());

    try {
        (void)assemble(store, options(/*strict=*/true));
        FAIL("no exception");
    } catch (const mip::SpecError& e) {
        CHECK(std::string(e.what()).find("libx") != std::string::npos);
    }
}

TEST_CASE("verify re-downloads each .mhl and detects bytes that differ from mhl_sha256",
          "[index]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    (void)publish(store, make_spec("alpha", "1.0"));
    (void)publish(store, make_spec("beta", "1.0"));
    auto o = options();
    o.verify = true;
    REQUIRE(assemble(store, o).packages.size() == 2);

    auto r = assemble(store);
    REQUIRE(r.packages[0].name == "alpha");
    const auto& url = *r.packages[0].mhl_url;
    const auto key = url.substr(base.size() + 1);
    auto original = *store.get(key);

    SECTION("same size, different bytes") {
        std::string tampered = original;
        tampered[0] = static_cast<char>(tampered[0] ^ 0x20);
        put(store, key, tampered);
    }
    SECTION("different size") { put(store, key, original + "x"); }
    SECTION("missing") { store.remove(key); }

    try {
        (void)assemble(store, o);
        FAIL("no exception");
    } catch (const mip::SpecError& e) {
        CHECK(std::string(e.what()).find("alpha-1.0-any-none-any") != std::string::npos);
    }
    // Without verify the index is assembled from the sidecars alone.
    CHECK(assemble(store).packages.size() == 2);
}

TEST_CASE("only sidecars directly under the prefix are read", "[index]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    (void)publish(store, make_spec("alpha", "1.0"));
    auto nested = make_spec("nested", "1.0");
    put(store, "sha256/abc/" + sidecar_key(nested), nested.to_json());
    put(store, "older/" + sidecar_key(nested), nested.to_json());
    put(store, "README.txt", "not a sidecar");
    put(store, "index.json", "{}");
    put(store, "nested-1.0-any-none-any.mip.json", nested.to_json());
    put(store, "nested-1.0-any-none-any.mhl.mip.json.bak", nested.to_json());
    put(store, ".mhl.mip.json", "{}");

    auto r = assemble(store);
    CHECK(wheels(r) == std::vector<std::string>{"alpha-1.0-any-none-any"});
    CHECK(r.sidecars_listed == 1);
    CHECK(r.skipped.empty());
}

TEST_CASE("write puts index.json, the page and the feeds in place together", "[index]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    (void)publish(store, make_spec("alpha", "1.0"));
    auto r = assemble(store);
    auto out = tmp / "gh-pages";
    mip::test::write_file(out / "index.json", "stale");
    mip::test::write_file(out / "CNAME", "packages.example.org\n");  // not ours: left alone
    IndexAssembler::write(r, out);
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(out)) {
        files.push_back(e.path().filename().string());
    }
    std::sort(files.begin(), files.end());
    CHECK(files == std::vector<std::string>{"CNAME", "feed.json", "feed.xml", "index.json",
                                            "packages.html"});
    CHECK(mip::test::read_file(out / "index.json") == r.index_json());
    CHECK(mip::test::read_file(out / "packages.html") == r.packages_html());
    CHECK(mip::test::read_file(out / "CNAME") == "packages.example.org\n");

    SECTION("into a directory that does not exist yet") {
        IndexAssembler::write(r, tmp / "new" / "site");
        CHECK(mip::test::read_file(tmp / "new" / "site" / "index.json") == r.index_json());
    }
}

TEST_CASE("packages.html escapes descriptions and shows them in full", "[index]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    const std::string ten = "abcdefghij";
    std::string hundred;
    for (int i = 0; i < 10; ++i) {
        hundred += ten;
    }
    auto script = make_spec("pkg_script", "1.0");
    script.description = "<script>alert('x')</script> & \"more\"";
    script.homepage = "https://example.org/home?a=1&b=2";
    (void)publish(store, script);
    auto longer = make_spec("pkg_long", "1.0", "linux_x86_64");
    longer.description = hundred + hundred;
    (void)publish(store, longer);

    auto r = assemble(store);
    auto html = r.packages_html();
    CHECK(html.find("<script>alert") == std::string::npos);
    CHECK(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;") !=
          std::string::npos);
    CHECK(html.find("<a href=\"https://example.org/home?a=1&amp;b=2\">https://example.org/"
                    "home?a=1&amp;b=2</a>") != std::string::npos);
    CHECK(html.find(hundred + hundred + "</p>") != std::string::npos);  // not truncated
    // One section per package, in name order, each with its .mhl and metadata links.
    CHECK(count(html, "<section class=\"pkg\"") == r.packages.size());
    std::size_t last = 0;
    for (const auto& p : r.packages) {
        auto pos = html.find("id=\"" + p.name + "\"");
        INFO(p.name);
        REQUIRE(pos != std::string::npos);
        CHECK(pos > last);
        last = pos;
        CHECK(html.find("href=\"" + *p.mhl_url + "\"") != std::string::npos);
        CHECK(html.find("href=\"" + *p.mip_json_url + "\"") != std::string::npos);
    }
}

TEST_CASE("the ETag cache downloads only changed sidecars and equals a full assembly", "[index]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    auto alpha = make_spec("alpha", "1.0");
    (void)publish(store, alpha);
    (void)publish(store, make_spec("beta", "1.0"));
    (void)publish(store, make_spec("gamma", "1.0"));
    put(store, "broken-1.0-any-none-any.mhl.mip.json", "{broken");
    auto cached = options();
    cached.cache_dir = tmp / "cache";
    auto full = [&]() { return assemble(store); };

    auto first = assemble(store, cached);
    CHECK(first.sidecars_listed == 4);
    CHECK(first.sidecars_downloaded == 4);
    CHECK(first.index_json() == full().index_json());
    CHECK(fs::is_directory(tmp / "cache"));

    auto second = assemble(store, cached);
    CHECK(second.sidecars_downloaded == 0);
    CHECK(second.index_json() == first.index_json());
    CHECK(second.skipped == first.skipped);  // the bad one is still reported

    SECTION("one sidecar changed: one download") {
        alpha.description = "a new description";
        (void)publish(store, alpha);
        auto third = assemble(store, cached);
        CHECK(third.sidecars_listed == 4);
        CHECK(third.sidecars_downloaded == 1);
        CHECK(third.index_json() == full().index_json());
        CHECK(third.index_json() != first.index_json());
        CHECK(third.index_json().find("a new description") != std::string::npos);
    }
    SECTION("one sidecar removed: nothing downloaded, and it is gone") {
        store.remove(sidecar_key(make_spec("beta", "1.0")));
        auto third = assemble(store, cached);
        CHECK(third.sidecars_downloaded == 0);
        CHECK(third.index_json() == full().index_json());
        CHECK(third.packages.size() == 2);
    }
    SECTION("one sidecar added: one download") {
        (void)publish(store, make_spec("delta", "1.0"));
        auto third = assemble(store, cached);
        CHECK(third.sidecars_downloaded == 1);
        CHECK(third.index_json() == full().index_json());
    }
    SECTION("a truncated cache file is ignored") {
        for (const auto& e : fs::recursive_directory_iterator(tmp / "cache")) {
            if (e.is_regular_file()) {
                auto text = mip::test::read_file(e.path());
                mip::test::write_file(e.path(), text.substr(0, text.size() / 2));
            }
        }
        auto third = assemble(store, cached);
        CHECK(third.index_json() == full().index_json());
        CHECK(third.skipped == first.skipped);
    }
}

// A cache file of another shape (the JSON cache of older versions, a hand edit) must be ignored.
// Regression: the JSON cache's lookup used `cache[key].value("etag", "")`, which threw
// nlohmann::json::type_error out of assemble().
TEST_CASE("a cache with entries of an unexpected shape is ignored", "[index]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    (void)publish(store, make_spec("alpha", "1.0"));
    (void)publish(store, make_spec("beta", "1.0"));
    auto cached = options();
    cached.cache_dir = tmp / "cache";
    auto expected = assemble(store).index_json();
    REQUIRE(assemble(store, cached).index_json() == expected);

    std::size_t rewritten = 0;
    for (const auto& e : fs::recursive_directory_iterator(tmp / "cache")) {
        if (e.is_regular_file()) {
            mip::test::write_file(e.path(), R"({"alpha-1.0-any-none-any.mhl.mip.json": 5})");
            ++rewritten;
        }
    }
    REQUIRE(rewritten >= 1);
    std::string got;
    REQUIRE_NOTHROW(got = assemble(store, cached).index_json());
    CHECK(got == expected);
}

// Incremental assembly costs the listing plus the changed sidecars: a sidecar whose listed ETag
// equals the cached one is not requested at all (before: one conditional GET per sidecar).
TEST_CASE("the ETag cache sends no request for sidecars whose listed ETag is cached",
          "[index][cache]") {
    TempDir tmp;
    LocalStore local(tmp / "store");
    mip::test::CountingStore store(local);
    auto alpha = make_spec("alpha", "1.0");
    (void)publish(local, alpha);
    (void)publish(local, make_spec("beta", "1.0"));
    (void)publish(local, make_spec("gamma", "1.0"));
    auto cached = options();
    cached.cache_dir = tmp / "cache";
    auto first = assemble(store, cached);
    CHECK(store.batch_gets == 1);
    CHECK(store.batched_requests == 3);
    CHECK(store.single_gets == 0);

    store.reset();
    auto second = assemble(store, cached);
    // Warm: only the index manifest is asked for (there is none: no uploader wrote here).
    CHECK(store.batched_requests == 1);
    CHECK(second.sidecar_source == "listing");
    CHECK(store.single_gets == 0);
    CHECK(second.sidecars_downloaded == 0);
    CHECK(second.index_json() == first.index_json());

    alpha.description = "changed";
    (void)publish(local, alpha);
    store.reset();
    auto third = assemble(store, cached);
    REQUIRE(store.last_batch.size() == 1);
    CHECK(store.last_batch[0].key == sidecar_key(alpha));
    CHECK_FALSE(store.last_batch[0].if_none_match.empty());  // revalidated, not blindly fetched
    CHECK(third.sidecars_downloaded == 1);
    CHECK(third.index_json() == assemble(local).index_json());
}

TEST_CASE("assembly reports progress on the calling thread", "[index]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    (void)publish(store, make_spec("alpha", "1.0"));
    (void)publish(store, make_spec("beta", "1.0"));
    std::vector<mip::ProgressEvent> events;
    auto o = options();
    o.progress_interval = std::chrono::milliseconds(0);
    o.progress = [&](const mip::ProgressEvent& e) { events.push_back(e); };
    (void)assemble(store, o);
    REQUIRE_FALSE(events.empty());
    CHECK(events.front().phase == mip::ProgressPhase::started);
    CHECK(events.back().phase == mip::ProgressPhase::finished);
    CHECK(events.back().stage == "index");
    CHECK(events.back().done == 2);
    CHECK(events.back().total == 2);
}
