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

#include "detail/crypto.hpp"

namespace mip::detail {

/// One publish run's store: the prepare stage's reads of published sidecars are remembered, so
/// the upload stage's "already published?" check only asks about keys nobody read yet (one
/// round of requests per package instead of two). Writes through it drop what it remembers of
/// their keys. Another publisher writing the same keys between the two stages is no different
/// from one writing during the upload: the create-only bundle key still guards the bytes.
///
/// The index stage sees the store as it is: after `revalidated_reads_only()`, plain reads go to
/// the store, and only a listing (`list_and_get`) is answered from memory, for an object whose
/// listed ETag equals the one it was read with or the MD5 of what was read (unchanged since, as
/// the listing proves). So a no-op publish reads each published sidecar once, not once to skip
/// it and again to index it.
class PublishStore final : public Store {
public:
    explicit PublishStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

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
    [[nodiscard]] std::vector<std::vector<PutResult>> put_chains_as_ready(
        const std::vector<std::vector<PutRequest>>& chains,
        ChainGate& gate,
        const BatchOptions& options) override {
        for (const auto& chain : chains) {
            for (const auto& r : chain) {
                forget(r.key);
            }
        }
        return inner_->put_chains_as_ready(chains, gate, options);
    }
    [[nodiscard]] std::vector<HeadResult> head_many(const std::vector<std::string>& keys,
                                                    const BatchOptions& options) override {
        return inner_->head_many(keys, options);
    }
    /// From now on, memory answers only what a listing revalidates (see the class comment).
    void revalidated_reads_only() {
        std::lock_guard lock(mutex_);
        revalidated_only_ = true;
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
            if (revalidated_only_) {
                inner_->get_each(requests, on_result, options);
                return;
            }
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

    /// A listed object whose GET `want` asks for is answered from memory (and forgotten: the
    /// index is the last reader) when the listing shows the ETag it was read with (and handed
    /// to `on_got` at once); the others are read as `want` asks. `want` runs on the calling
    /// thread, as the store runs it.
    [[nodiscard]] std::vector<ListedObject> list_and_get(const std::string& prefix,
                                                         bool recursive,
                                                         const ListedGetFilter& want,
                                                         const BatchOptions& options) override {
        std::map<std::string, GetResult> reused;
        auto filter = [&](const ObjectInfo& listed) -> std::optional<GetRequest> {
            auto request = want(listed);
            if (!request || !request->if_none_match.empty() || listed.etag.empty()) {
                return request;
            }
            std::lock_guard lock(mutex_);
            auto it = memo_.find(listed.key);
            if (it == memo_.end() || !unchanged_since_read(it->second, listed.etag)) {
                return request;
            }
            auto& read = reused.emplace(listed.key, std::move(it->second)).first->second;
            memo_.erase(it);
            if (options.on_got) {
                options.on_got(read);  // final now, as a GET that just ended
            }
            return std::nullopt;
        };
        auto out = inner_->list_and_get(prefix, recursive, filter, options);
        for (auto& o : out) {
            if (auto it = reused.find(o.info.key); !o.got && it != reused.end()) {
                o.got = std::move(it->second);
            }
        }
        return out;
    }

private:
    /// The listed ETag is the one the object was read with, or the MD5 of the bytes read (what
    /// S3 and R2 list for an object written in one PUT, whoever served the read: a CDN or
    /// mirror in front of the bucket answers with ETags of its own).
    static bool unchanged_since_read(const GetResult& read, const std::string& listed_etag) {
        return (!read.etag.empty() && read.etag == listed_etag) ||
               (read.found && listed_etag.size() == 32 && md5_hex(read.data) == listed_etag);
    }

    void forget(const std::string& key) {
        std::lock_guard lock(mutex_);
        memo_.erase(key);
    }

    std::unique_ptr<Store> inner_;
    std::mutex mutex_;
    std::map<std::string, GetResult> memo_;
    bool revalidated_only_ = false;
};

}  // namespace mip::detail
