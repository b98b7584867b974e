#include <algorithm>

#include <mip/error.hpp>
#include <mip/local_store.hpp>
#include <mip/store.hpp>

#include "detail/parallel.hpp"
#include "detail/progress.hpp"
#include "detail/s3_store.hpp"

namespace mip {

namespace {

/// Runs `one(i)` for every request on the calling thread, with throttled progress.
template <typename Result, typename Fn>
std::vector<Result> sequential_batch(std::size_t n, const BatchOptions& options, Fn one) {
    std::vector<Result> results(n);
    detail::ProgressEmitter progress(options.progress, options.stage, n);
    progress.started();
    for (std::size_t i = 0; i < n; ++i) {
        results[i] = one(i);
        progress.item_done(results[i].key);
        if (i + 1 < n) {
            progress.advance_if_due(options.progress_interval);
        }
    }
    progress.finished();
    return results;
}

}  // namespace

std::vector<PutResult> Store::put_many(const std::vector<PutRequest>& requests,
                                       const BatchOptions& options) {
    return sequential_batch<PutResult>(requests.size(), options, [&](std::size_t i) {
        PutResult r;
        r.key = requests[i].key;
        try {
            r = put(requests[i]);
        } catch (...) {
            r.error = std::current_exception();
        }
        return r;
    });
}

std::vector<GetResult> Store::get_many(const std::vector<GetRequest>& requests,
                                       const BatchOptions& options) {
    std::vector<GetResult> results(requests.size());
    get_each(
        requests, [&results](std::size_t i, GetResult r) { results[i] = std::move(r); }, options);
    return results;
}

void Store::get_each(const std::vector<GetRequest>& requests,
                     const GetCallback& on_result,
                     const BatchOptions& options) {
    detail::ProgressEmitter progress(options.progress, options.stage, requests.size());
    progress.started();
    for (std::size_t i = 0; i < requests.size(); ++i) {
        GetResult r = get_one(requests[i]);
        progress.item_done(r.key);
        on_result(i, std::move(r));
        if (i + 1 < requests.size()) {
            progress.advance_if_due(options.progress_interval);
        }
    }
    progress.finished();
}

GetResult Store::get_one(const GetRequest& request) {
    GetResult r;
    r.key = request.key;
    r.attempts = 1;
    try {
        if (!request.if_none_match.empty()) {
            auto info = head(request.key);
            if (info && info->etag == request.if_none_match) {
                r.found = true;
                r.not_modified = true;
                r.etag = info->etag;
                return r;
            }
        }
        auto data = get(request.key);
        if (data) {
            r.found = true;
            r.data = std::move(*data);
            auto info = head(request.key);
            r.etag = info ? info->etag : std::string();
        }
    } catch (...) {
        r.error = std::current_exception();
    }
    return r;
}

std::vector<HeadResult> Store::head_many(const std::vector<std::string>& keys,
                                         const BatchOptions& options) {
    return sequential_batch<HeadResult>(keys.size(), options, [&](std::size_t i) {
        HeadResult r;
        r.key = keys[i];
        r.attempts = 1;
        try {
            r.info = head(keys[i]);
        } catch (...) {
            r.error = std::current_exception();
        }
        return r;
    });
}

std::vector<ListedObject> Store::list_and_get(const std::string& prefix,
                                              bool recursive,
                                              const ListedGetFilter& want,
                                              const BatchOptions& options) {
    std::vector<ListedObject> out;
    std::vector<GetRequest> requests;
    std::vector<std::size_t> owners;
    for (auto& info : list(prefix, recursive)) {
        out.push_back({std::move(info), std::nullopt});
        if (auto r = want(out.back().info)) {
            requests.push_back(std::move(*r));
            owners.push_back(out.size() - 1);
        }
    }
    auto got = get_many(requests, options);
    for (std::size_t i = 0; i < got.size(); ++i) {
        if (options.on_got) {
            options.on_got(got[i]);
        }
        out[owners[i]].got = std::move(got[i]);
    }
    return out;
}

std::vector<std::vector<PutResult>> Store::put_chains(
    const std::vector<std::vector<PutRequest>>& chains, const BatchOptions& options) {
    std::vector<std::vector<PutResult>> results(chains.size());
    std::size_t steps = 0;
    for (std::size_t c = 0; c < chains.size(); ++c) {
        results[c].resize(chains[c].size());
        for (std::size_t s = 0; s < chains[c].size(); ++s) {
            results[c][s].key = chains[c][s].key;
        }
        steps = std::max(steps, chains[c].size());
    }
    std::vector<bool> alive(chains.size(), true);
    for (std::size_t s = 0; s < steps; ++s) {
        std::vector<PutRequest> requests;
        std::vector<std::size_t> owners;
        for (std::size_t c = 0; c < chains.size(); ++c) {
            if (alive[c] && s < chains[c].size()) {
                requests.push_back(chains[c][s]);
                owners.push_back(c);
            }
        }
        auto step = put_many(requests, options);
        for (std::size_t i = 0; i < step.size(); ++i) {
            alive[owners[i]] = !step[i].error;
            results[owners[i]][s] = std::move(step[i]);
        }
    }
    return results;
}

void ChainGate::decide(std::size_t i, bool start) {
    std::lock_guard lock(mutex_);
    if (i >= decided_.size() || decided_[i]) {
        return;
    }
    decided_[i] = true;
    --undecided_;
    if (start) {
        started_.push_back(i);
    }
    changed_.notify_all();
    // Under the lock, so that `on_decided(nullptr)` returning means no wake-up is running.
    if (wake_) {
        wake_();
    }
}

void ChainGate::drop_rest() {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < decided_.size(); ++i) {
        if (!decided_[i]) {
            decided_[i] = true;
            --undecided_;
        }
    }
    changed_.notify_all();
    if (wake_) {
        wake_();
    }
}

std::vector<std::size_t> ChainGate::take(std::size_t max, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (taken_ == started_.size() && undecided_ > 0 && timeout.count() > 0) {
        changed_.wait_for(lock, timeout,
                          [this] { return taken_ < started_.size() || undecided_ == 0; });
    }
    std::vector<std::size_t> out;
    while (taken_ < started_.size() && out.size() < max) {
        out.push_back(started_[taken_++]);
    }
    return out;
}

bool ChainGate::settled() const {
    std::lock_guard lock(mutex_);
    return undecided_ == 0 && taken_ == started_.size();
}

void ChainGate::on_decided(std::function<void()> wake) {
    std::lock_guard lock(mutex_);
    wake_ = std::move(wake);
}

std::vector<std::vector<PutResult>> Store::put_chains_as_ready(
    const std::vector<std::vector<PutRequest>>& chains,
    ChainGate& gate,
    const BatchOptions& options) {
    std::vector<std::vector<PutResult>> results(chains.size());
    for (std::size_t c = 0; c < chains.size(); ++c) {
        results[c].resize(chains[c].size());
        for (std::size_t s = 0; s < chains[c].size(); ++s) {
            results[c][s].key = chains[c][s].key;
        }
    }
    while (!gate.settled()) {
        auto ready = gate.take(chains.size(), std::chrono::milliseconds(100));
        if (ready.empty()) {
            continue;
        }
        std::vector<std::vector<PutRequest>> some;
        some.reserve(ready.size());
        for (auto i : ready) {
            some.push_back(chains.at(i));
        }
        auto got = put_chains(some, options);
        for (std::size_t k = 0; k < ready.size(); ++k) {
            results[ready[k]] = std::move(got[k]);
        }
    }
    return results;
}

std::unique_ptr<Store> open_store(const std::string& url,
                                  const StoreOptions& options,
                                  const RunOptions& run) {
    if (url.empty()) {
        throw SpecError("--store", {{"store", "must not be empty"}});
    }
    if (url.rfind("s3://", 0) == 0) {
        return detail::open_s3_store(url, options, run);
    }
    if (url.rfind("file://", 0) == 0) {
        std::string path = url.substr(7);
        if (path.empty() || path[0] != '/') {
            throw SpecError(
                "--store",
                {{"store", "'" + url + "': a file:// URL needs an absolute path (file:///dir)"}});
        }
        return std::make_unique<LocalStore>(path, run.logger, !run.dry_run);
    }
    auto scheme = url.find("://");
    if (scheme != std::string::npos) {
        throw SpecError(
            "--store",
            {{"store",
              "'" + url.substr(0, scheme) +
                  "://' is not supported (use a directory, file:///dir or s3://bucket/prefix)"}});
    }
    return std::make_unique<LocalStore>(url, run.logger, !run.dry_run);
}

}  // namespace mip
