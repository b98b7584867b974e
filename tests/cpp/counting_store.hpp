#pragma once
// A Store decorator for tests: forwards every call to another store and counts the reads, so a
// test can assert how many requests a stage issued and whether they came in one batch.

#include <cstddef>
#include <string>
#include <vector>

#include <mip/store.hpp>

namespace mip::test {

class CountingStore final : public Store {
public:
    explicit CountingStore(Store& inner) : inner_(inner) {}

    std::size_t single_gets = 0;       ///< get() calls
    std::size_t batch_gets = 0;        ///< get_many() and get_each() calls
    std::size_t batched_requests = 0;  ///< GetRequests over all of them
    std::vector<GetRequest> last_batch;
    std::size_t lists = 0;  ///< list() calls

    [[nodiscard]] std::string describe() const override { return inner_.describe(); }
    [[nodiscard]] std::string default_base_url() const override {
        return inner_.default_base_url();
    }
    PutResult put(const PutRequest& request) override { return inner_.put(request); }
    [[nodiscard]] std::optional<std::string> get(const std::string& key) override {
        ++single_gets;
        return inner_.get(key);
    }
    bool get_to_file(const std::string& key, const std::filesystem::path& destination) override {
        return inner_.get_to_file(key, destination);
    }
    [[nodiscard]] std::optional<ObjectInfo> head(const std::string& key) override {
        return inner_.head(key);
    }
    [[nodiscard]] std::vector<ObjectInfo> list(const std::string& prefix,
                                               bool recursive = true) override {
        ++lists;
        return inner_.list(prefix, recursive);
    }
    void remove(const std::string& key) override { inner_.remove(key); }
    [[nodiscard]] std::vector<GetResult> get_many(const std::vector<GetRequest>& requests,
                                                  const BatchOptions& options = {}) override {
        ++batch_gets;
        batched_requests += requests.size();
        last_batch = requests;
        return inner_.get_many(requests, options);
    }
    void get_each(const std::vector<GetRequest>& requests,
                  const GetCallback& on_result,
                  const BatchOptions& options = {}) override {
        ++batch_gets;
        batched_requests += requests.size();
        last_batch = requests;
        inner_.get_each(requests, on_result, options);
    }
    void reset() {
        single_gets = batch_gets = batched_requests = lists = 0;
        last_batch.clear();
    }

private:
    Store& inner_;
};

}  // namespace mip::test
