#pragma once
// Private: the store of one `publish` run (pipeline.cpp), remembering what the prepare stage read.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <mip/store.hpp>

namespace mip::detail {

/// One publish run's store: the prepare stage's reads of published sidecars are remembered, so
/// the upload stage's "already published?" check only asks about keys nobody read yet (one
/// round of requests per package instead of two). Writes through it drop what it remembers of
/// their keys. Another publisher writing the same keys between the two stages is no different
/// from one writing during the upload: the create-only bundle key still guards the bytes.
class PublishStore final : public Store {
public:
    explicit PublishStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}
    /// The store itself, without the memory (the index reads the store as it is).
    [[nodiscard]] Store& inner() const { return *inner_; }

    [[nodiscard]] std::string describe() const override { return inner_->describe(); }
    [[nodiscard]] std::string default_base_url() const override {
        return inner_->default_base_url();
    }
    PutResult put(const PutRequest& request) override {
        forget(request.key);
        return inner_->put(request);
    }
    [[nodiscard]] std::optional<std::string> get(const std::string& key) override {
        return inner_->get(key);
    }
    bool get_to_file(const std::string& key, const std::filesystem::path& destination) override {
        return inner_->get_to_file(key, destination);
    }
    [[nodiscard]] std::optional<ObjectInfo> head(const std::string& key) override {
        return inner_->head(key);
    }
    [[nodiscard]] std::vector<ObjectInfo> list(const std::string& prefix, bool recursive) override {
        return inner_->list(prefix, recursive);
    }
    void remove(const std::string& key) override {
        forget(key);
        inner_->remove(key);
    }
    [[nodiscard]] std::vector<PutResult> put_many(const std::vector<PutRequest>& requests,
                                                  const BatchOptions& options) override {
        for (const auto& r : requests) {
            forget(r.key);
        }
        return inner_->put_many(requests, options);
    }
    [[nodiscard]] std::vector<std::vector<PutResult>> put_chains(
        const std::vector<std::vector<PutRequest>>& chains, const BatchOptions& options) override {
        for (const auto& chain : chains) {
            for (const auto& r : chain) {
                forget(r.key);
            }
        }
        return inner_->put_chains(chains, options);
    }
    [[nodiscard]] std::vector<HeadResult> head_many(const std::vector<std::string>& keys,
                                                    const BatchOptions& options) override {
        return inner_->head_many(keys, options);
    }
    /// Unconditional reads are answered from memory when an earlier one got an answer (at
    /// once, before the others are asked for); the rest as the store answers them.
    void get_each(const std::vector<GetRequest>& requests,
                  const GetCallback& on_result,
                  const BatchOptions& options) override {
        std::vector<GetRequest> missing;
        std::vector<std::size_t> where;
        std::vector<std::pair<std::size_t, GetResult>> known;
        {
            std::lock_guard lock(mutex_);
            for (std::size_t i = 0; i < requests.size(); ++i) {
                auto it =
                    requests[i].if_none_match.empty() ? memo_.find(requests[i].key) : memo_.end();
                if (it != memo_.end()) {
                    known.emplace_back(i, it->second);
                } else {
                    missing.push_back(requests[i]);
                    where.push_back(i);
                }
            }
        }
        for (auto& [i, r] : known) {
            on_result(i, std::move(r));
        }
        if (missing.empty()) {
            return;
        }
        inner_->get_each(
            missing,
            [&](std::size_t k, GetResult r) {
                if (!r.error && !r.not_modified) {
                    std::lock_guard lock(mutex_);
                    memo_[missing[k].key] = r;
                }
                on_result(where[k], std::move(r));
            },
            options);
    }

private:
    void forget(const std::string& key) {
        std::lock_guard lock(mutex_);
        memo_.erase(key);
    }

    std::unique_ptr<Store> inner_;
    std::mutex mutex_;
    std::map<std::string, GetResult> memo_;
};

}  // namespace mip::detail
