// The index manifest (detail/index_manifest.hpp): its text, the uploader's and the listing's
// merges, and conditional updates from many writers at once on a real local store.
#include <latch>
#include <thread>

#include <catch2/catch.hpp>

#include <mip/error.hpp>
#include <mip/local_store.hpp>

#include "detail/index_manifest.hpp"
#include "test_support.hpp"

using namespace mip;
using detail::IndexManifest;
using mip::test::TempDir;

namespace {

IndexManifest manifest(std::map<std::string, std::string> sidecars, std::int64_t listed_at) {
    IndexManifest m;
    m.sidecars = std::move(sidecars);
    m.listed_at = listed_at;
    return m;
}

}  // namespace

TEST_CASE("index manifest text round-trips byte for byte", "[index_manifest]") {
    auto m = manifest({{"b-1.0-any.mhl.mip.json", "e2"}, {"a-1.0-any.mhl.mip.json", "\"e1\""}}, 7);
    auto text = detail::render_index_manifest(m);
    CHECK(text ==
          "{\"format\": 1, \"listed_at\": 7, \"sidecars\": {\n"
          "\"a-1.0-any.mhl.mip.json\": \"\\\"e1\\\"\",\n"
          "\"b-1.0-any.mhl.mip.json\": \"e2\"\n}}\n");
    CHECK(detail::parse_index_manifest(text) == m);
    CHECK(detail::render_index_manifest(detail::parse_index_manifest(text)) == text);
    CHECK(detail::parse_index_manifest(detail::render_index_manifest(IndexManifest{})) ==
          IndexManifest{});
}

TEST_CASE("a corrupt or hostile index manifest is refused, naming the field", "[index_manifest]") {
    auto field_of = [](const std::string& text) {
        try {
            (void)detail::parse_index_manifest(text);
        } catch (const SpecError& e) {
            return e.issues().empty() ? std::string("?") : e.issues().front().field;
        }
        return std::string("accepted");
    };
    CHECK(field_of("{\"format\": 1, \"listed_at\": 1, \"sidecars\": {") != "accepted");
    CHECK(field_of("[]") == "");
    CHECK(field_of("{\"format\": 2, \"listed_at\": 1, \"sidecars\": {}}") == "format");
    CHECK(field_of("{\"format\": 1, \"listed_at\": -1, \"sidecars\": {}}") == "listed_at");
    CHECK(field_of("{\"format\": 1, \"listed_at\": 1, \"sidecars\": []}") == "sidecars");
    for (const char* key :
         {"../x.mhl.mip.json", "a/b.mhl.mip.json", "x.mhl", ".hidden.mhl.mip.json",
          "bad\\u0001.mhl.mip.json", "sha256/ab/x.mhl.mip.json"}) {
        CAPTURE(key);
        CHECK(field_of(std::string("{\"format\": 1, \"listed_at\": 1, \"sidecars\": {\"") + key +
                       "\": \"e\"}}") == "sidecars");
    }
    CHECK(field_of("{\"format\": 1, \"listed_at\": 1, \"sidecars\": {\"a.mhl.mip.json\": \"\"}}") ==
          "sidecars");
    CHECK(field_of("{\"format\": 1, \"listed_at\": 1, \"sidecars\": {\"a.mhl.mip.json\": 3}}") ==
          "sidecars");
}

TEST_CASE("an uploader's merge keeps every other entry", "[index_manifest]") {
    auto current = manifest({{"a.mhl.mip.json", "1"}, {"b.mhl.mip.json", "2"}}, 100);
    SECTION("new and changed entries over the current ones; listed_at stays") {
        auto merged = detail::merge_uploaded(
            current, {{{"b.mhl.mip.json", "3"}, {"c.mhl.mip.json", "4"}}, {}});
        REQUIRE(merged);
        CHECK(*merged ==
              manifest({{"a.mhl.mip.json", "1"}, {"b.mhl.mip.json", "3"}, {"c.mhl.mip.json", "4"}},
                       100));
    }
    SECTION("unchanged sidecars fill gaps but never replace another uploader's entry") {
        auto merged = detail::merge_uploaded(
            current,
            {{{"c.mhl.mip.json", "4"}}, {{"b.mhl.mip.json", "old"}, {"d.mhl.mip.json", "5"}}});
        REQUIRE(merged);
        CHECK(*merged == manifest({{"a.mhl.mip.json", "1"},
                                   {"b.mhl.mip.json", "2"},
                                   {"c.mhl.mip.json", "4"},
                                   {"d.mhl.mip.json", "5"}},
                                  100));
        CHECK_FALSE(detail::merge_uploaded(current, {{}, {{"b.mhl.mip.json", "old"}}}));
    }
    SECTION("nothing to write when the manifest already says so") {
        CHECK_FALSE(detail::merge_uploaded(current, {{{"a.mhl.mip.json", "1"}}, {}}));
    }
    SECTION("no manifest yet: a new one that no index trusts before a full listing") {
        auto merged = detail::merge_uploaded(std::nullopt, {{{"a.mhl.mip.json", "1"}}, {}});
        REQUIRE(merged);
        CHECK(*merged == manifest({{"a.mhl.mip.json", "1"}}, 0));
    }
}

TEST_CASE("a listing's repair follows the listing, except entries written meanwhile",
          "[index_manifest]") {
    auto base = manifest({{"a.mhl.mip.json", "1"}, {"gone.mhl.mip.json", "9"}}, 50);
    std::map<std::string, std::string> listed{{"a.mhl.mip.json", "1"}, {"b.mhl.mip.json", "2"}};
    SECTION("nobody wrote during the listing: exactly the listing") {
        CHECK(detail::merge_listing(listed, 200, base, base) == manifest(listed, 200));
    }
    SECTION("an uploader added and changed entries during the listing: both kept") {
        auto current = base;
        current.sidecars["c.mhl.mip.json"] = "3";
        current.sidecars["a.mhl.mip.json"] = "1b";
        CHECK(detail::merge_listing(listed, 200, base, current) ==
              manifest({{"a.mhl.mip.json", "1b"}, {"b.mhl.mip.json", "2"}, {"c.mhl.mip.json", "3"}},
                       200));
    }
    SECTION("no manifest before the listing: every entry an uploader wrote since is kept") {
        auto current = manifest({{"c.mhl.mip.json", "3"}}, 0);
        CHECK(detail::merge_listing(listed, 200, std::nullopt, current) ==
              manifest({{"a.mhl.mip.json", "1"}, {"b.mhl.mip.json", "2"}, {"c.mhl.mip.json", "3"}},
                       200));
    }
    SECTION("the manifest disappeared meanwhile: the listing") {
        CHECK(detail::merge_listing(listed, 200, base, std::nullopt) == manifest(listed, 200));
    }
}

TEST_CASE("concurrent uploaders on one local store never lose an entry", "[index_manifest]") {
    TempDir dir;
    constexpr std::size_t writers = 6;
    constexpr int rounds = 5;
    LocalStore(dir.path()).put({"seed", {}, "x", {}, {}, {}});
    std::latch start(static_cast<std::ptrdiff_t>(writers));
    std::vector<std::thread> threads;
    threads.reserve(writers);
    std::vector<std::uint32_t> attempts(writers, 0);
    for (std::size_t w = 0; w < writers; ++w) {
        threads.emplace_back([&, w] {
            LocalStore store(dir.path());  // one store per writer, as separate processes
            start.arrive_and_wait();
            for (int r = 0; r < rounds; ++r) {
                auto key = "w" + std::to_string(w) + "r" + std::to_string(r) + ".mhl.mip.json";
                auto result = detail::update_index_manifest(
                    store,
                    [&](const detail::ManifestRead& current) {
                        return detail::merge_uploaded(current.manifest, {{{key, "etag"}}, {}});
                    },
                    {.max_attempts = 1000, .backoff = std::chrono::milliseconds(1)});
                attempts[w] += result.attempts;
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    LocalStore store(dir.path());
    auto read = detail::read_index_manifest(store);
    REQUIRE(read.manifest);
    CHECK(read.manifest->sidecars.size() == writers * std::size_t{rounds});
    CHECK(read.manifest->listed_at == 0);
}

TEST_CASE("a local If-Match put fails once the object changed since it was read",
          "[index_manifest]") {
    TempDir dir;
    LocalStore store(dir.path());
    REQUIRE(store.put({"k", {}, "one", {}, {}, {}}).written);
    auto first = store.get_many({{"k", {}}}).front();
    REQUIRE(first.data == "one");
    REQUIRE(store.put({"k", {}, "two!", {}, {}, {}}).written);
    PutRequest stale{"k", {}, "three", {}, {}, {}};
    stale.options.if_match = first.etag;
    auto r = store.put(stale);
    CHECK(r.precondition_failed);
    CHECK_FALSE(r.written);
    CHECK(store.get("k") == "two!");
    auto second = store.get_many({{"k", {}}}).front();
    stale.options.if_match = second.etag;
    CHECK(store.put(stale).written);
    CHECK(store.get_many({{"k", second.etag}}).front().not_modified == false);
}

TEST_CASE("an upload whose ETag is unknown leaves the manifest untrusted", "[index_manifest]") {
    TempDir dir;
    LocalStore store(dir.path());
    PutRequest trusted{detail::index_manifest_key,
                       {},
                       detail::render_index_manifest(manifest({{"a.mhl.mip.json", "1"}}, 99)),
                       {},
                       {},
                       {}};
    REQUIRE(store.put(trusted).written);
    detail::record_uploaded_sidecars(store, {{{"b.mhl.mip.json", ""}, {"c.mhl.mip.json", "3"}}, {}},
                                     {});
    auto read = detail::read_index_manifest(store);
    REQUIRE(read.manifest);
    CHECK(*read.manifest == manifest({{"a.mhl.mip.json", "1"}, {"c.mhl.mip.json", "3"}}, 0));
}
