// LocalStore over real directories: key encoding, listing, conditional writes, atomicity, the
// Store batch defaults and open_store().

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <mip/error.hpp>
#include <mip/local_store.hpp>
#include <mip/store.hpp>

#include "test_support.hpp"

namespace fs = std::filesystem;
using mip::LocalStore;
using mip::PutRequest;
using mip::test::TempDir;

namespace {

/// Every entry below `dir` (files, dirs, links), `/`-separated and relative, sorted.
std::vector<std::string> tree(const fs::path& dir) {
    std::vector<std::string> out;
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
         ++it) {
        out.push_back(it->path().lexically_relative(dir).generic_string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> keys_of(const std::vector<mip::ObjectInfo>& infos) {
    std::vector<std::string> out;
    out.reserve(infos.size());
    for (const auto& i : infos) {
        out.push_back(i.key);
    }
    return out;
}

mip::PutResult put_bytes(mip::Store& store,
                         const std::string& key,
                         const std::string& data,
                         mip::PutOptions options = {}) {
    PutRequest r;
    r.key = key;
    r.data = data;
    r.options = std::move(options);
    return store.put(r);
}

/// Whether `p` (lexically) lies strictly below `root`.
bool strictly_below(const fs::path& p, const fs::path& root) {
    auto rel = p.lexically_normal().lexically_relative(root.lexically_normal());
    if (rel.empty() || rel == ".") {
        return false;
    }
    return std::none_of(rel.begin(), rel.end(), [](const fs::path& part) { return part == ".."; });
}

/// Files in the store's temp area (there must be none between calls).
/// Temporary objects left in `.mip-tmp/` (its `conditional.lock`, the lock of If-Match puts,
/// stays by design: removing a lock file others may hold would break the lock).
std::vector<std::string> temp_leftovers(const fs::path& root) {
    auto tmp = root / ".mip-tmp";
    if (!fs::exists(tmp)) {
        return {};
    }
    auto left = tree(tmp);
    left.erase(std::remove(left.begin(), left.end(), "conditional.lock"), left.end());
    return left;
}

/// Keys that a file system cannot hold verbatim, or that would escape a naive mapping.
const std::vector<std::string>& awkward_keys() {
    static const std::vector<std::string> keys = {
        "plain",
        "with space/name with space.txt",
        "plus+equals=tilde~",
        "\xc3\xa9/na\xc3\xafve-\xc3\xbc.txt",  // é/naïve-ü.txt
        "colon:at@percent%",
        "%",
        "%25",
        "%2E",
        "..",
        ".",
        "up/../escape",
        "../escape",
        "../../../escape3",
        "./x",
        "a//b",
        "//lead",
        "trail/",
        "ctl\x01\x1f\x7f",
        "tab\tnewline\n",
        ".mip-tmp",
        ".mip-tmp/x",
        "x/.mip-tmp",
        "a?b#c&d",
        "back\\slash",
        "*glob*",
        "quote'\"",
        "deep/a/b/c/d",
    };
    return keys;
}

}  // namespace

TEST_CASE("awkward keys round-trip through put, list, head, get and remove inside the root",
          "[local_store]") {
    auto key = GENERATE(from_range(awkward_keys()));
    INFO("key: '" << key << "'");
    TempDir outer;
    // Nest the root so that even a three-level escape would land inside the temp dir.
    auto root = outer / "a" / "b" / "store";
    LocalStore store(root);
    const std::string data = "bytes of " + key;

    auto put = put_bytes(store, key, data);
    CHECK(put.written);
    CHECK_FALSE(put.precondition_failed);
    CHECK_FALSE(put.error);
    CHECK(put.key == key);

    auto listed = store.list("");
    REQUIRE(keys_of(listed) == std::vector<std::string>{key});
    CHECK(listed[0].size == data.size());
    CHECK(keys_of(store.list(key)) == std::vector<std::string>{key});
    auto got = store.get(key);
    REQUIRE(got);
    CHECK(*got == data);
    auto info = store.head(key);
    REQUIRE(info);
    CHECK(info->key == key);
    CHECK(info->size == data.size());
    CHECK(info->etag == put.etag);
    CHECK(listed[0].etag == put.etag);

    // The object is a real file under the root, at path_for(key).
    auto file = store.path_for(key);
    CHECK(strictly_below(file, root));
    REQUIRE(fs::is_regular_file(file));
    CHECK(mip::test::read_file(file) == data);
    // Nothing was created outside the root.
    for (const auto& entry : tree(outer.path())) {
        INFO("entry " << entry);
        CHECK((entry == "a" || entry == "a/b" || entry.rfind("a/b/store", 0) == 0));
    }

    auto copy = outer / "copy.bin";
    CHECK(store.get_to_file(key, copy));
    CHECK(mip::test::read_file(copy) == data);

    store.remove(key);
    CHECK_FALSE(store.get(key));
    CHECK_FALSE(store.head(key));
    CHECK(store.list("").empty());
    CHECK(temp_leftovers(root).empty());
}

TEST_CASE("many awkward keys coexist in one store and list sorted bytewise", "[local_store]") {
    // The per-key test covers each key alone; here every key that is not a path prefix of another
    // lives in one store (e.g. "." and "./x" cannot both exist, as "a" and "a/b" cannot).
    std::set<std::string> keys;
    for (const auto& k : awkward_keys()) {
        if (k != "./x" && k != ".." && k != ".mip-tmp") {
            keys.insert(k);
        }
    }
    keys.insert("B");
    keys.insert("_");
    keys.insert("\xc3\xa9z");  // "éz" sorts after every ASCII key
    TempDir outer;
    LocalStore store(outer / "store");
    for (const auto& k : keys) {
        INFO("key '" << k << "'");
        REQUIRE(put_bytes(store, k, "v:" + k).written);
    }
    auto listed = keys_of(store.list(""));
    CHECK(listed == std::vector<std::string>(keys.begin(), keys.end()));
    CHECK(std::is_sorted(listed.begin(), listed.end()));
    for (const auto& k : keys) {
        INFO("key '" << k << "'");
        CHECK(store.get(k) == "v:" + k);
    }
    CHECK(tree(outer.path()).front() == "store");
    for (const auto& entry : tree(outer.path())) {
        CHECK(entry.rfind("store", 0) == 0);
    }
}

TEST_CASE("list filters by prefix, recursively or one level deep", "[local_store]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    const std::vector<std::string> keys = {"a.txt",
                                           "b/c.txt",
                                           "b/c2.txt",
                                           "b/d/e.txt",
                                           "bb/x",
                                           "c",
                                           "core/packages/p-1-any-none-any.mhl",
                                           "core/packages/sha256/00/p-1-any-none-any.mhl"};
    for (const auto& k : keys) {
        REQUIRE(put_bytes(store, k, std::string(k.size(), 'x')).written);
    }
    using V = std::vector<std::string>;
    CHECK(keys_of(store.list("")) == keys);
    CHECK(keys_of(store.list("", false)) == V{"a.txt", "c"});
    CHECK(keys_of(store.list("b/")) == V{"b/c.txt", "b/c2.txt", "b/d/e.txt"});
    CHECK(keys_of(store.list("b/", false)) == V{"b/c.txt", "b/c2.txt"});
    CHECK(keys_of(store.list("b")) == V{"b/c.txt", "b/c2.txt", "b/d/e.txt", "bb/x"});
    CHECK(keys_of(store.list("b", false)).empty());
    CHECK(keys_of(store.list("b/c")) == V{"b/c.txt", "b/c2.txt"});
    CHECK(keys_of(store.list("b/d/e.txt")) == V{"b/d/e.txt"});
    CHECK(keys_of(store.list("core/packages/", false)) == V{"core/packages/p-1-any-none-any.mhl"});
    CHECK(keys_of(store.list("core/packages/sha256/")) ==
          V{"core/packages/sha256/00/p-1-any-none-any.mhl"});
    CHECK(store.list("zzz").empty());
    CHECK(store.list("nope/").empty());
    CHECK(store.list("a.txt/").empty());  // a prefix through an object, not a directory
    for (const auto& info : store.list("")) {
        CHECK(info.size == info.key.size());
        CHECK_FALSE(info.etag.empty());
        CHECK(info.last_modified.size() == 20);  // YYYY-MM-DDTHH:MM:SSZ
    }
}

TEST_CASE("the temp area never appears in listings", "[local_store]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    REQUIRE(put_bytes(store, "k", "v").written);
    // A temp file left behind by a crashed writer.
    mip::test::write_file(store.root() / ".mip-tmp" / "put-deadbeef", "partial");
    CHECK(keys_of(store.list("")) == std::vector<std::string>{"k"});
    CHECK(store.list(".mip-tmp").empty());
    CHECK(store.list(".").empty());
    CHECK_FALSE(store.get(".mip-tmp/put-deadbeef"));
    // A user key spelled like the temp area is stored elsewhere and listed normally.
    REQUIRE(put_bytes(store, ".mip-tmp/put-deadbeef", "user").written);
    CHECK(store.get(".mip-tmp/put-deadbeef") == std::string("user"));
    CHECK(mip::test::read_file(store.root() / ".mip-tmp" / "put-deadbeef") == "partial");
    CHECK(keys_of(store.list("")) == std::vector<std::string>{".mip-tmp/put-deadbeef", "k"});
}

TEST_CASE("put from a file streams its bytes and get_to_file writes atomically", "[local_store]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    std::string blob;
    for (std::uint32_t i = 0; i < 300000; ++i) {
        blob += static_cast<char>((i * 7919U) % 256U);
    }
    mip::test::write_file(tmp / "src" / "blob.mhl", blob);
    PutRequest r;
    r.key = "core/blob.mhl";
    r.file = tmp / "src" / "blob.mhl";
    r.data = "ignored when a file is given";
    auto put = store.put(r);
    REQUIRE(put.written);
    CHECK(store.head("core/blob.mhl")->size == blob.size());
    CHECK(store.get("core/blob.mhl") == blob);
    CHECK(mip::test::read_file(tmp / "src" / "blob.mhl") == blob);  // source untouched
    struct stat st {};
    REQUIRE(::stat(store.path_for("core/blob.mhl").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);

    fs::create_directories(tmp / "out");
    mip::test::write_file(tmp / "out" / "blob.mhl", "old content");
    CHECK(store.get_to_file("core/blob.mhl", tmp / "out" / "blob.mhl"));
    CHECK(mip::test::read_file(tmp / "out" / "blob.mhl") == blob);
    CHECK(tree(tmp / "out") == std::vector<std::string>{"blob.mhl"});  // no temp sibling left

    SECTION("an absent key gives false and creates nothing") {
        CHECK_FALSE(store.get_to_file("core/absent.mhl", tmp / "out" / "absent.mhl"));
        CHECK(tree(tmp / "out") == std::vector<std::string>{"blob.mhl"});
    }
    SECTION("a missing source file is an IoError and leaves no object or temp file") {
        PutRequest missing;
        missing.key = "core/missing.mhl";
        missing.file = tmp / "src" / "missing.mhl";
        REQUIRE_THROWS_AS(store.put(missing), mip::IoError);
        CHECK_FALSE(store.head("core/missing.mhl"));
        CHECK(temp_leftovers(store.root()).empty());
    }
}

TEST_CASE("writes leave no temp file behind", "[local_store]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    mip::test::write_file(tmp / "f.bin", "from file");
    REQUIRE(put_bytes(store, "x/a", "one").written);
    REQUIRE(put_bytes(store, "x/a", "two, replaced").written);
    PutRequest from_file;
    from_file.key = "x/b";
    from_file.file = tmp / "f.bin";
    REQUIRE(store.put(from_file).written);
    REQUIRE(put_bytes(store, "x/c", "create", {.if_none_match = true}).written);
    REQUIRE(put_bytes(store, "x/c", "again", {.if_none_match = true}).precondition_failed);
    REQUIRE(put_bytes(store, "x/a", "guarded", {.if_match = "wrong"}).precondition_failed);

    CHECK(temp_leftovers(store.root()).empty());
    auto entries = tree(store.root());
    std::vector<std::string> expected = {".mip-tmp", ".mip-tmp/conditional.lock", "x", "x/a", "x/b",
                                         "x/c"};
    CHECK(entries == expected);
    CHECK(store.get("x/a") == std::string("two, replaced"));
}

TEST_CASE("a create-only put succeeds once and keeps the first bytes", "[local_store]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    auto first = put_bytes(store, "sha256/ab/p.mhl", "first bytes", {.if_none_match = true});
    CHECK(first.written);
    CHECK_FALSE(first.precondition_failed);
    CHECK(first.etag == store.head("sha256/ab/p.mhl")->etag);

    auto second = put_bytes(store, "sha256/ab/p.mhl", "other bytes", {.if_none_match = true});
    CHECK_FALSE(second.written);
    CHECK(second.precondition_failed);
    CHECK_FALSE(second.error);
    CHECK(store.get("sha256/ab/p.mhl") == std::string("first bytes"));
    CHECK(store.head("sha256/ab/p.mhl")->etag == first.etag);
    CHECK(temp_leftovers(store.root()).empty());
}

TEST_CASE("if_match replaces only the expected version", "[local_store]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    auto v1 = put_bytes(store, "k", "version 1");
    REQUIRE(v1.written);

    auto wrong = put_bytes(store, "k", "version X", {.if_match = "not-the-etag"});
    CHECK(wrong.precondition_failed);
    CHECK_FALSE(wrong.written);
    CHECK(store.get("k") == std::string("version 1"));

    auto v2 = put_bytes(store, "k", "version 2", {.if_match = v1.etag});
    CHECK(v2.written);
    CHECK(store.get("k") == std::string("version 2"));
    CHECK(v2.etag != v1.etag);

    auto stale = put_bytes(store, "k", "version 3", {.if_match = v1.etag});
    CHECK(stale.precondition_failed);
    CHECK(store.get("k") == std::string("version 2"));

    auto absent = put_bytes(store, "absent", "x", {.if_match = v2.etag});
    CHECK(absent.precondition_failed);
    CHECK_FALSE(store.head("absent"));
}

TEST_CASE("the etag changes when the object changes, even at the same size", "[local_store]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    auto a = put_bytes(store, "obj", "aaaa");
    auto b = put_bytes(store, "obj", "bbbb");
    REQUIRE(a.written);
    REQUIRE(b.written);
    CHECK(a.etag != b.etag);
    auto head = store.head("obj");
    REQUIRE(head);
    CHECK(head->etag == b.etag);
    CHECK(store.list("obj")[0].etag == b.etag);
    // Reading does not change it.
    (void)store.get("obj");
    CHECK(store.head("obj")->etag == b.etag);
}

// Regression: when an *ancestor* of the new key is an object ("a" exists, put "a/b"), the error
// must name the key and the conflict, as the opposite order does ("store key 'a' conflicts with an
// existing key prefix"), not only "cannot create directory: <root>/a (Not a directory)".
TEST_CASE("a key that conflicts with a key prefix is a clear IoError", "[local_store]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    SECTION("an object, then a key below it") {
        REQUIRE(put_bytes(store, "a", "object a").written);
        try {
            (void)put_bytes(store, "a/b", "below a");
            FAIL("no exception");
        } catch (const mip::IoError& e) {
            std::string what = e.what();
            INFO(what);
            // The message must say which key failed and why, not only "cannot create directory".
            CHECK(what.find("'a/b'") != std::string::npos);
            CHECK(what.find("conflict") != std::string::npos);
        }
        CHECK(store.get("a") == std::string("object a"));
        CHECK(keys_of(store.list("")) == std::vector<std::string>{"a"});
        CHECK(temp_leftovers(store.root()).empty());
    }
    SECTION("a key below, then the prefix as an object") {
        REQUIRE(put_bytes(store, "a/b", "below a").written);
        try {
            (void)put_bytes(store, "a", "object a");
            FAIL("no exception");
        } catch (const mip::IoError& e) {
            std::string what = e.what();
            INFO(what);
            CHECK(what.find("'a'") != std::string::npos);
            CHECK(what.find("conflict") != std::string::npos);
        }
        CHECK(store.get("a/b") == std::string("below a"));
        CHECK_FALSE(store.get("a"));
        CHECK(temp_leftovers(store.root()).empty());
    }
}

// Regression: removing the last key below a prefix must not leave its (now empty) directories
// behind, or the store would refuse the prefix as a key although list() shows no key under it.
TEST_CASE("after the keys below a prefix are removed, the prefix can be a key", "[local_store]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    REQUIRE(put_bytes(store, "a/b/c", "deep").written);
    store.remove("a/b/c");
    REQUIRE(store.list("").empty());
    auto put = put_bytes(store, "a", "now a file");
    CHECK(put.written);
    CHECK(store.get("a") == std::string("now a file"));
}

// Regression: a key that is only a prefix of other keys is absent; removing it changes nothing
// (it must not try to remove the non-empty directory and throw).
TEST_CASE("removing an absent key that is a prefix of other keys changes nothing",
          "[local_store]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    REQUIRE(put_bytes(store, "b/c", "child").written);
    CHECK_FALSE(store.get("b"));
    CHECK_FALSE(store.head("b"));
    CHECK_NOTHROW(store.remove("b"));
    CHECK(store.get("b/c") == std::string("child"));
    CHECK_NOTHROW(store.remove("never/existed"));
    CHECK(keys_of(store.list("")) == std::vector<std::string>{"b/c"});
}

TEST_CASE("invalid keys are refused with SpecError before anything is written", "[local_store]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    std::string long_segment(256, 's');
    std::string long_key;
    while (long_key.size() <= 1024) {
        long_key += "segment/";
    }
    auto key = GENERATE_COPY(std::string(), std::string("a\0b", 3), long_segment, long_key);
    INFO("key of " << key.size() << " bytes");
    REQUIRE_THROWS_AS(put_bytes(store, key, "x"), mip::SpecError);
    REQUIRE_THROWS_AS(store.get(key), mip::SpecError);
    auto entries = tree(store.root());
    CHECK((entries.empty() || entries == std::vector<std::string>{".mip-tmp"}));

    // The limits themselves are fine.
    std::string max_key = std::string(255, 'm') + "/" + std::string(255, 'n') + "/" +
                          std::string(255, 'o') + "/" + std::string(255, 'p');
    REQUIRE(max_key.size() == 1023);
    CHECK(put_bytes(store, max_key, "ok").written);
    CHECK(store.get(max_key) == std::string("ok"));
}

TEST_CASE("batch defaults return one result per request, in order", "[local_store]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    std::vector<mip::ProgressEvent> events;
    mip::BatchOptions batch;
    batch.progress_interval = std::chrono::milliseconds(0);
    batch.stage = "upload";
    auto caller = std::this_thread::get_id();
    bool on_caller = true;
    batch.progress = [&](const mip::ProgressEvent& e) {
        events.push_back(e);
        on_caller = on_caller && std::this_thread::get_id() == caller;
    };

    REQUIRE(put_bytes(store, "existing", "old").written);
    std::vector<PutRequest> puts(4);
    puts[0].key = "z-first";
    puts[0].data = "1";
    puts[1].key = "existing";
    puts[1].data = "new";
    puts[1].options.if_none_match = true;
    puts[2].key = "";  // invalid: this item fails, the others go on
    puts[3].key = "a-last";
    puts[3].data = "4";
    auto put_results = store.put_many(puts, batch);
    REQUIRE(put_results.size() == 4);
    CHECK(put_results[0].key == "z-first");
    CHECK(put_results[0].written);
    CHECK(put_results[1].key == "existing");
    CHECK(put_results[1].precondition_failed);
    CHECK_FALSE(put_results[1].written);
    CHECK(put_results[2].error);
    CHECK_FALSE(put_results[2].written);
    REQUIRE_THROWS_AS(std::rethrow_exception(put_results[2].error), mip::SpecError);
    CHECK(put_results[3].key == "a-last");
    CHECK(put_results[3].written);
    CHECK(store.get("existing") == std::string("old"));
    REQUIRE_FALSE(events.empty());
    CHECK(on_caller);
    CHECK(events.front().phase == mip::ProgressPhase::started);
    CHECK(events.back().phase == mip::ProgressPhase::finished);
    CHECK(events.back().done == 4);
    CHECK(events.back().total == 4);
    CHECK(events.back().stage == "upload");

    auto current = store.head("z-first")->etag;
    std::vector<mip::GetRequest> gets = {{"z-first", current},  // unchanged
                                         {"absent", ""},
                                         {"a-last", "stale-etag"},
                                         {"existing", ""}};
    auto got = store.get_many(gets);
    REQUIRE(got.size() == 4);
    CHECK(got[0].key == "z-first");
    CHECK(got[0].found);
    CHECK(got[0].not_modified);
    CHECK(got[0].data.empty());
    CHECK(got[0].etag == current);
    CHECK(got[1].key == "absent");
    CHECK_FALSE(got[1].found);
    CHECK_FALSE(got[1].error);
    CHECK(got[2].key == "a-last");
    CHECK(got[2].found);
    CHECK_FALSE(got[2].not_modified);
    CHECK(got[2].data == "4");
    CHECK(got[2].etag == store.head("a-last")->etag);
    CHECK(got[3].data == "old");

    auto heads = store.head_many({"a-last", "absent", "", "existing"});
    REQUIRE(heads.size() == 4);
    CHECK(heads[0].key == "a-last");
    REQUIRE(heads[0].info);
    CHECK(heads[0].info->size == 1);
    CHECK(heads[1].key == "absent");
    CHECK_FALSE(heads[1].info);
    CHECK_FALSE(heads[1].error);
    CHECK(heads[2].error);
    CHECK(heads[3].info->size == 3);

    CHECK(store.put_many({}).empty());
    CHECK(store.get_many({}).empty());
    CHECK(store.head_many({}).empty());
}

TEST_CASE("open_store opens local directories and refuses other schemes", "[local_store]") {
    TempDir tmp;
    SECTION("a plain path, created if missing") {
        auto dir = tmp / "new" / "store";
        auto store = mip::open_store(dir.string());
        auto* local = dynamic_cast<LocalStore*>(store.get());
        REQUIRE(local != nullptr);
        CHECK(local->root() == dir);
        CHECK(fs::is_directory(dir));
        CHECK(store->describe() == "file://" + dir.string());
        CHECK(store->default_base_url() == "file://" + dir.string());
        REQUIRE(put_bytes(*store, "k", "v").written);
        CHECK(mip::test::read_file(dir / "k") == "v");
    }
    SECTION("a trailing slash is dropped from the root") {
        auto store = mip::open_store((tmp / "s").string() + "/");
        CHECK(store->default_base_url() == "file://" + (tmp / "s").string());
    }
    SECTION("file:///absolute") {
        auto dir = tmp / "via-url";
        auto store = mip::open_store("file://" + dir.string());
        auto* local = dynamic_cast<LocalStore*>(store.get());
        REQUIRE(local != nullptr);
        CHECK(local->root() == dir);
        REQUIRE(put_bytes(*store, "k", "v").written);
        CHECK(mip::test::read_file(dir / "k") == "v");
    }
    SECTION("file://relative is refused") {
        REQUIRE_THROWS_AS(mip::open_store("file://relative/dir"), mip::SpecError);
        CHECK_FALSE(fs::exists("relative"));
    }
    SECTION("other schemes and the empty URL are refused") {
        auto url = GENERATE(std::string("ftp://host/dir"), std::string("http://host/dir"),
                            std::string("gs://bucket/x"), std::string());
        INFO(url);
        REQUIRE_THROWS_AS(mip::open_store(url), mip::SpecError);
    }
}

TEST_CASE("copy_from and accept_existing_size and put chains on a local store", "[local_store]") {
    TempDir tmp;
    LocalStore store(tmp / "store");
    const std::string bytes = "bundle bytes";
    const mip::PutOptions cas{.if_none_match = true, .accept_existing_size = bytes.size()};
    CHECK(put_bytes(store, "sha256/ab/p.mhl", bytes, cas).written);
    // The same content-addressed key again: accepted, not an error, bytes kept.
    auto again = put_bytes(store, "sha256/ab/p.mhl", "other bytes!", cas);
    CHECK(again.precondition_failed);
    CHECK_FALSE(again.written);
    // An existing object of another size is an error naming the key and both sizes.
    mip::PutOptions wrong_size = cas;
    wrong_size.accept_existing_size = 3;
    REQUIRE_THROWS_WITH(put_bytes(store, "sha256/ab/p.mhl", "abc", wrong_size),
                        Catch::Contains("sha256/ab/p.mhl") && Catch::Contains("different size") &&
                            Catch::Contains("12 bytes, expected 3"));

    PutRequest copy;
    copy.key = "p.mhl";
    copy.copy_from = "sha256/ab/p.mhl";
    CHECK(store.put(copy).written);
    CHECK(store.get("p.mhl") == bytes);
    copy.copy_from = "sha256/missing/p.mhl";
    REQUIRE_THROWS_AS(store.put(copy), mip::RemoteError);

    // Chains: step 2 follows step 1; a failed step ends its chain, the rest is not attempted.
    std::vector<std::vector<PutRequest>> chains(2);
    chains[0] = {{.key = "sha256/cd/q.mhl", .data = "q bytes", .options = cas},
                 {.key = "q.mhl", .copy_from = "sha256/cd/q.mhl"},
                 {.key = "q.mhl.mip.json", .data = "{}"}};
    chains[1] = {{.key = "r.mhl", .copy_from = "sha256/nowhere/r.mhl"},
                 {.key = "r.mhl.mip.json", .data = "{}"}};
    auto results = store.put_chains(chains);
    REQUIRE(results.size() == 2);
    REQUIRE(results[0].size() == 3);
    CHECK(results[0][2].written);
    CHECK(store.get("q.mhl") == std::string("q bytes"));
    CHECK(results[1][0].error);
    CHECK(results[1][1].attempts == 0);
    CHECK_FALSE(results[1][1].error);
    CHECK_FALSE(store.head("r.mhl.mip.json"));

    // As a gate lets them through (the default: the chains let through so far, then the next).
    const std::vector<std::vector<PutRequest>> gated = {
        {{.key = "t.mhl", .data = "t bytes"}, {.key = "t.mhl.mip.json", .data = "{}"}},
        {{.key = "u.mhl", .data = "u bytes"}},
        {{.key = "s.mhl", .data = "s bytes"}}};
    mip::ChainGate gate(gated.size());
    gate.start(2);
    gate.drop(1);
    std::thread late([&gate] { gate.start(0); });
    results = store.put_chains_as_ready(gated, gate);
    late.join();
    CHECK(results[0][1].written);
    CHECK(results[1][0].attempts == 0);
    CHECK_FALSE(results[1][0].error);
    CHECK_FALSE(store.head("u.mhl"));
    CHECK(store.get("s.mhl") == std::string("s bytes"));
    CHECK(temp_leftovers(store.root()).empty());
}
