// The store of one publish run (detail/publish_store.hpp): what the prepare stage read answers the
// upload's check, and the index's listing only where the listing proves it unchanged.
#include <memory>
#include <set>

#include <catch2/catch.hpp>

#include <mip/local_store.hpp>

#include "counting_store.hpp"
#include "detail/crypto.hpp"
#include "detail/publish_store.hpp"
#include "test_support.hpp"

using namespace mip;
using mip::test::CountingStore;
using mip::test::TempDir;

namespace {

std::map<std::string, std::string> bodies(const std::vector<ListedObject>& listed) {
    std::map<std::string, std::string> out;
    for (const auto& o : listed) {
        REQUIRE(o.got);
        REQUIRE(o.got->found);
        out[o.info.key] = o.got->data;
    }
    return out;
}

/// A bucket behind a mirror, as the benchmark's nginx serves it: the listing has S3's ETags (the
/// MD5 of each object), the reads come back with the mirror's own ETags.
class MirroredBucket final : public Store {
public:
    explicit MirroredBucket(Store& bucket) : bucket_(bucket) {}
    std::size_t reads = 0;

    [[nodiscard]] std::string describe() const override { return bucket_.describe(); }
    [[nodiscard]] std::string default_base_url() const override { return {}; }
    PutResult put(const PutRequest& request) override { return bucket_.put(request); }
    [[nodiscard]] std::optional<std::string> get(const std::string& key) override {
        ++reads;
        return bucket_.get(key);
    }
    bool get_to_file(const std::string& key, const std::filesystem::path& destination) override {
        return bucket_.get_to_file(key, destination);
    }
    [[nodiscard]] std::optional<ObjectInfo> head(const std::string& key) override {
        return bucket_.head(key);
    }
    [[nodiscard]] std::vector<ObjectInfo> list(const std::string& prefix, bool recursive) override {
        auto listed = bucket_.list(prefix, recursive);
        for (auto& o : listed) {
            o.etag = detail::md5_hex(*bucket_.get(o.key));
        }
        return listed;
    }
    void remove(const std::string& key) override { bucket_.remove(key); }
    void get_each(const std::vector<GetRequest>& requests,
                  const GetCallback& on_result,
                  const BatchOptions& options) override {
        reads += requests.size();
        bucket_.get_each(
            requests,
            [&](std::size_t i, GetResult r) {
                r.etag = "\"5f1b-mirror\"";
                on_result(i, std::move(r));
            },
            options);
    }

private:
    Store& bucket_;
};

}  // namespace

TEST_CASE("behind a mirror, a listed MD5 equal to what was read proves it unchanged",
          "[publish_store]") {
    TempDir dir;
    LocalStore local(dir.path());
    REQUIRE(local.put({"a.mhl.mip.json", {}, "a as read", {}, {}, {}}).written);
    REQUIRE(local.put({"b.mhl.mip.json", {}, "b as read", {}, {}, {}}).written);
    auto mirrored = std::make_unique<MirroredBucket>(local);
    auto& bucket = *mirrored;
    detail::PublishStore store(std::move(mirrored));
    store.get_each({{"a.mhl.mip.json", {}}, {"b.mhl.mip.json", {}}},
                   [](std::size_t, const GetResult& r) { CHECK(r.found); }, {});
    REQUIRE(local.put({"b.mhl.mip.json", {}, "b rewritten", {}, {}, {}}).written);
    store.revalidated_reads_only();
    bucket.reads = 0;
    auto listed = store.list_and_get("", false,
                                     [](const ObjectInfo& o) {
                                         return std::optional<GetRequest>({o.key, {}});
                                     },
                                     {});
    CHECK(bodies(listed) == std::map<std::string, std::string>{{"a.mhl.mip.json", "a as read"},
                                                               {"b.mhl.mip.json", "b rewritten"}});
    CHECK(bucket.reads == 1);  // b only
}

TEST_CASE("a publish run's index reads again only what changed since the prepare stage read it",
          "[publish_store]") {
    TempDir dir;
    LocalStore local(dir.path());
    for (const auto* key : {"a.mhl.mip.json", "b.mhl.mip.json", "c.mhl.mip.json"}) {
        REQUIRE(local.put({key, {}, std::string("first ") + key, {}, {}, {}}).written);
    }
    auto counting = std::make_unique<CountingStore>(local);
    auto& counted = *counting;
    detail::PublishStore store(std::move(counting));

    // The prepare stage reads a and b (c is nobody's: a package removed from the recipes).
    std::set<std::string> read;
    store.get_each({{"a.mhl.mip.json", {}}, {"b.mhl.mip.json", {}}},
                   [&](std::size_t, const GetResult& r) { read.insert(r.key); }, {});
    CHECK(read == std::set<std::string>{"a.mhl.mip.json", "b.mhl.mip.json"});
    CHECK(counted.batched_requests == 2);

    // The upload's check: answered from memory, no request.
    counted.reset();
    store.get_each({{"a.mhl.mip.json", {}}},
                   [](std::size_t, const GetResult& r) { CHECK(r.found); }, {});
    CHECK(counted.batched_requests == 0);

    // Another publisher rewrites b meanwhile.
    REQUIRE(local.put({"b.mhl.mip.json", {}, "second, longer b", {}, {}, {}}).written);

    store.revalidated_reads_only();
    counted.reset();
    auto want = [](const ObjectInfo& o) -> std::optional<GetRequest> {
        return GetRequest{o.key, {}};
    };
    BatchOptions early;
    std::map<std::string, std::string> got_early;  // what on_got saw, before the call returned
    early.on_got = [&got_early](const GetResult& r) { got_early[r.key] = r.data; };
    auto listed = store.list_and_get("", false, want, early);
    // a comes from memory (its listed ETag is the one it was read with); b changed and c was
    // never read: both are read from the store. Every result, a's too, went to on_got.
    CHECK(got_early == bodies(listed));
    CHECK(bodies(listed) ==
          std::map<std::string, std::string>{{"a.mhl.mip.json", "first a.mhl.mip.json"},
                                             {"b.mhl.mip.json", "second, longer b"},
                                             {"c.mhl.mip.json", "first c.mhl.mip.json"}});
    CHECK(counted.batched_requests == 2);
    std::set<std::string> asked;
    for (const auto& r : counted.last_batch) {
        asked.insert(r.key);
    }
    CHECK(asked == std::set<std::string>{"b.mhl.mip.json", "c.mhl.mip.json"});

    // After that, a plain read goes to the store even for a key read before.
    counted.reset();
    store.get_each({{"a.mhl.mip.json", {}}},
                   [](std::size_t, const GetResult& r) { CHECK(r.found); }, {});
    CHECK(counted.batched_requests == 1);
}

TEST_CASE("a write through a publish run's store forgets what was read of its key",
          "[publish_store]") {
    TempDir dir;
    LocalStore local(dir.path());
    REQUIRE(local.put({"a.mhl.mip.json", {}, "old", {}, {}, {}}).written);
    auto counting = std::make_unique<CountingStore>(local);
    auto& counted = *counting;
    detail::PublishStore store(std::move(counting));
    store.get_each({{"a.mhl.mip.json", {}}}, [](std::size_t, const GetResult&) {}, {});
    REQUIRE(store.put({"a.mhl.mip.json", {}, "new and longer", {}, {}, {}}).written);
    counted.reset();
    std::string seen;
    store.get_each({{"a.mhl.mip.json", {}}},
                   [&](std::size_t, const GetResult& r) { seen = r.data; }, {});
    CHECK(seen == "new and longer");
    CHECK(counted.batched_requests == 1);
}
