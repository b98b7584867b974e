// R2Client (r2_client.hpp): the public S3/R2 store. The request machinery lives in detail/:
// s3_endpoint (URLs), s3_engine (calls, retries, batches), s3_requests (request builders),
// s3_put_job (PutObject, CopyObject, multipart), s3_transport (libcurl), sigv4, s3_xml.

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>

#include <fcntl.h>
#include <unistd.h>

#include <mip/error.hpp>
#include <mip/r2_client.hpp>

#include "detail/fd.hpp"
#include "detail/fs.hpp"
#include "detail/progress.hpp"
#include "detail/s3_endpoint.hpp"
#include "detail/s3_engine.hpp"
#include "detail/s3_put_job.hpp"
#include "detail/s3_requests.hpp"
#include "detail/s3_store.hpp"

namespace mip {

namespace {

namespace s3 = detail::s3;
using s3::Call;
using s3::ClientState;
using s3::Engine;
using s3::ItemDone;

constexpr std::uint64_t min_part_size = 5 * mebibyte;
constexpr std::uint64_t max_part_size = 5ULL * 1024 * mebibyte;
constexpr std::uint64_t max_parts = 10000;

}  // namespace

struct R2Client::Impl : ClientState {
    using ClientState::ClientState;
    /// One network operation at a time per client: the multi handle, the signing state and the
    /// upload bookkeeping belong to the thread holding it (callers such as the prepare stage may
    /// use one store from several worker threads).
    std::mutex operation_mutex;
};

// ------------------------------------------------------------------------------------------
// Public API

MultipartPlan plan_multipart(std::uint64_t object_size, std::uint64_t configured_part_size) {
    std::uint64_t part = std::max(configured_part_size, (object_size + max_parts - 1) / max_parts);
    part = (part + mebibyte - 1) / mebibyte * mebibyte;  // whole MiB
    part = std::max(part, min_part_size);
    if (part > max_part_size) {
        throw SpecError(
            "object of " + std::to_string(object_size) +
            " bytes is too large for a multipart upload (10,000 parts of at most 5 GiB)");
    }
    const std::uint64_t count = object_size == 0 ? 1 : (object_size + part - 1) / part;
    if (count > max_parts) {
        throw SpecError("multipart upload would need " + std::to_string(count) + " parts");
    }
    return {part, static_cast<std::uint32_t>(count)};
}

R2Config R2Config::from_environment(const std::string& endpoint) {
    std::map<std::string, std::string> env;
    for (const char* name :
         {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"}) {
        if (const char* value = std::getenv(name)) {
            env[name] = value;
        }
    }
    return from_environment(env, endpoint);
}

R2Config R2Config::from_environment(const std::map<std::string, std::string>& environment,
                                    const std::string& endpoint) {
    auto get = [&](const char* name) {
        auto it = environment.find(name);
        return it == environment.end() ? std::string() : it->second;
    };
    auto require = [&](const char* name) {
        std::string v = get(name);
        if (v.empty()) {
            throw AuthError(std::string(name) +
                                " is not set: S3/R2 credentials come from the environment "
                                "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL)",
                            RemoteErrorInfo{});
        }
        return v;
    };
    R2Config c;
    c.access_key_id = require("AWS_ACCESS_KEY_ID");
    c.secret_access_key = require("AWS_SECRET_ACCESS_KEY");
    c.session_token = get("AWS_SESSION_TOKEN");
    c.endpoint = endpoint.empty() ? require("AWS_ENDPOINT_URL") : endpoint;
    return c;
}

R2Client::R2Client(R2Config config) {
    config.prefix = s3::trim_slashes(config.prefix);
    if (config.bucket.empty() || config.bucket.find('/') != std::string::npos) {
        throw SpecError("S3 bucket name '" + config.bucket + "' is empty or contains '/'");
    }
    if (config.access_key_id.empty() || config.secret_access_key.empty()) {
        throw AuthError("S3 credentials are empty (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)",
                        RemoteErrorInfo{});
    }
    if (config.max_in_flight < 1 || config.max_in_flight > 256) {
        throw SpecError("max_in_flight must be between 1 and 256 (got " +
                        std::to_string(config.max_in_flight) + ")");
    }
    if (config.parts_in_flight < 1 || config.parts_in_flight > 64) {
        throw SpecError("parts_in_flight must be between 1 and 64");
    }
    if (config.part_size < min_part_size || config.part_size > max_part_size) {
        throw SpecError("part_size must be between 5 MiB and 5 GiB");
    }
    if (config.multipart_threshold < 1) {
        throw SpecError("multipart_threshold must be at least 1 byte");
    }
    if (config.region.empty()) {
        config.region = "auto";
    }
    s3::Endpoint ep = s3::parse_endpoint(config.endpoint, config.allow_insecure_loopback);
    impl_ = std::make_unique<Impl>(std::move(config), std::move(ep));
}

R2Client::~R2Client() = default;

const std::string& R2Client::bucket() const noexcept { return impl_->config.bucket; }
const std::string& R2Client::prefix() const noexcept { return impl_->config.prefix; }
const std::string& R2Client::endpoint() const noexcept { return impl_->endpoint.base; }

std::string R2Client::describe() const {
    return "s3://" + impl_->config.bucket +
           (impl_->config.prefix.empty() ? "" : "/" + impl_->config.prefix);
}

std::string R2Client::default_base_url() const { return {}; }

PutResult R2Client::put(const PutRequest& request) {
    std::lock_guard lock(impl_->operation_mutex);
    PutResult out;
    {
        Engine engine(*impl_, impl_->config.parts_in_flight);
        try {
            auto job = std::make_shared<s3::PutJob>(*impl_, engine, request, out, nullptr);
            job->begin();
            engine.run();
        } catch (...) {
            s3::abort_leftovers(*impl_);
            throw;
        }
    }
    if (out.error) {
        std::rethrow_exception(out.error);
    }
    return out;
}

std::vector<PutResult> R2Client::put_many(const std::vector<PutRequest>& requests,
                                          const BatchOptions& options) {
    std::lock_guard lock(impl_->operation_mutex);
    std::vector<PutResult> results(requests.size());
    s3::run_batch(*impl_, requests.size(), options, [&](Engine& engine, std::size_t i, auto done) {
        auto job = std::make_shared<s3::PutJob>(*impl_, engine, requests[i], results[i],
                                                [&results, i, done] { done(results[i].key); });
        job->begin();
    });
    return results;
}

namespace {

/// The results of `chains`, keys filled in, nothing attempted.
std::vector<std::vector<PutResult>> empty_results(
    const std::vector<std::vector<PutRequest>>& chains) {
    std::vector<std::vector<PutResult>> results(chains.size());
    for (std::size_t i = 0; i < chains.size(); ++i) {
        results[i].resize(chains[i].size());
        for (std::size_t k = 0; k < chains[i].size(); ++k) {
            results[i][k].key = chains[i][k].key;
        }
    }
    return results;
}

/// Batch items that run each chain: step k's completion begins step k + 1; a failed step ends
/// its chain (the rest count as done for progress, not attempted).
class ChainSteps {
public:
    ChainSteps(ClientState& impl,
               const std::vector<std::vector<PutRequest>>& chains,
               std::vector<std::vector<PutResult>>& results)
        : impl_(impl), chains_(chains), results_(results), step_(chains.size()) {}

    /// What the batch runs for item (chain) i.
    [[nodiscard]] s3::SubmitItem submitter() {
        return
            [this](Engine& engine, std::size_t i, const ItemDone& done) { begin(engine, i, done); };
    }

    /// Requests over all chains (progress counts steps).
    [[nodiscard]] std::size_t requests() const {
        std::size_t n = 0;
        for (const auto& chain : chains_) {
            n += chain.size();
        }
        return n;
    }

private:
    void begin(Engine& engine, std::size_t i, const ItemDone& done) {
        step_[i] = [this, &engine, i, done](std::size_t k) {
            if (k == chains_[i].size()) {
                done.end();
                return;
            }
            auto job = std::make_shared<s3::PutJob>(
                impl_, engine, chains_[i][k], results_[i][k], [this, i, k, done] {
                    done.step(results_[i][k].key);
                    if (!results_[i][k].error) {
                        step_[i](k + 1);
                        return;
                    }
                    for (std::size_t rest = k + 1; rest < results_[i].size(); ++rest) {
                        done.step(results_[i][rest].key);
                    }
                    done.end();
                });
            job->begin();
        };
        step_[i](0);
    }

    ClientState& impl_;
    const std::vector<std::vector<PutRequest>>& chains_;
    std::vector<std::vector<PutResult>>& results_;
    std::vector<std::function<void(std::size_t)>> step_;
};

}  // namespace

std::vector<std::vector<PutResult>> R2Client::put_chains(
    const std::vector<std::vector<PutRequest>>& chains, const BatchOptions& options) {
    std::lock_guard lock(impl_->operation_mutex);
    auto results = empty_results(chains);
    ChainSteps steps(*impl_, chains, results);
    s3::run_batch(*impl_, chains.size(), options, steps.submitter(), steps.requests());
    return results;
}

std::vector<std::vector<PutResult>> R2Client::put_chains_as_ready(
    const std::vector<std::vector<PutRequest>>& chains,
    ChainGate& gate,
    const BatchOptions& options) {
    std::lock_guard lock(impl_->operation_mutex);
    auto results = empty_results(chains);
    ChainSteps steps(*impl_, chains, results);
    s3::run_batch_as_ready(*impl_, gate, options, steps.submitter(), steps.requests(),
                           [&](std::size_t i) { return chains.at(i).size(); });
    return results;
}

std::optional<std::string> R2Client::get(const std::string& key) {
    std::lock_guard lock(impl_->operation_mutex);
    auto c = s3::get_call(*impl_, key, "");
    s3::run_one(*impl_, c);
    if (c->status == 404) {
        return std::nullopt;
    }
    return std::move(c->exchange.response_body);
}

void R2Client::get_each(const std::vector<GetRequest>& requests,
                        const GetCallback& on_result,
                        const BatchOptions& options) {
    std::lock_guard lock(impl_->operation_mutex);
    s3::run_batch(*impl_, requests.size(), options, [&](Engine& engine, std::size_t i, auto done) {
        auto c = s3::get_call(*impl_, requests[i].key, requests[i].if_none_match);
        c->done = [&requests, &on_result, i, done](Call& call) {
            GetResult r;
            r.key = requests[i].key;
            s3::fill_get_result(r, call, requests[i].if_none_match);
            on_result(i, std::move(r));
            done(requests[i].key);
        };
        engine.submit(std::move(c));
    });
}

bool R2Client::get_to_file(const std::string& key, const std::filesystem::path& destination) {
    std::lock_guard lock(impl_->operation_mutex);
    const auto tmp = detail::temp_sibling(destination);
    detail::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) {
        throw IoError("cannot create download file", tmp.string(), s3::last_errno());
    }
    struct Unlink {
        const std::filesystem::path& path;
        bool keep = false;
        explicit Unlink(const std::filesystem::path& p) : path(p) {}
        Unlink(const Unlink&) = delete;
        Unlink& operator=(const Unlink&) = delete;
        Unlink(Unlink&&) = delete;
        Unlink& operator=(Unlink&&) = delete;
        ~Unlink() {
            if (!keep) {
                ::unlink(path.c_str());
            }
        }
    } cleanup(tmp);
    auto c = s3::get_call(*impl_, key, "");
    c->accepted = {404};
    c->sink_fd = fd.get();
    s3::run_one(*impl_, c);
    if (c->status == 404) {
        return false;
    }
    if (::fsync(fd.get()) != 0) {
        throw IoError("cannot fsync download file", tmp.string(), s3::last_errno());
    }
    detail::rename_path(tmp, destination);
    cleanup.keep = true;
    return true;
}

std::optional<ObjectInfo> R2Client::head(const std::string& key) {
    std::lock_guard lock(impl_->operation_mutex);
    auto c = s3::head_call(*impl_, key);
    s3::run_one(*impl_, c);
    if (c->status == 404) {
        return std::nullopt;
    }
    return s3::info_from_head(*impl_, *c);
}

std::vector<HeadResult> R2Client::head_many(const std::vector<std::string>& keys,
                                            const BatchOptions& options) {
    std::lock_guard lock(impl_->operation_mutex);
    std::vector<HeadResult> results(keys.size());
    s3::run_batch(*impl_, keys.size(), options, [&](Engine& engine, std::size_t i, auto done) {
        auto c = s3::head_call(*impl_, keys[i]);
        results[i].key = keys[i];
        ClientState* impl = impl_.get();
        c->done = [&results, i, done, impl](Call& call) {
            HeadResult& r = results[i];
            r.attempts = call.attempts;
            if (call.error) {
                r.error = call.error;
            } else if (call.status != 404) {
                r.info = s3::info_from_head(*impl, call);
            }
            done(r.key);
        };
        engine.submit(std::move(c));
    });
    return results;
}

std::vector<ObjectInfo> R2Client::list(const std::string& prefix, bool recursive) {
    std::lock_guard lock(impl_->operation_mutex);
    const std::string s3_prefix =
        impl_->config.prefix.empty() ? prefix : impl_->config.prefix + "/" + prefix;
    std::vector<ObjectInfo> out;
    std::string token;
    std::set<std::string> seen_tokens;
    for (;;) {
        auto c = s3::list_call(s3_prefix, recursive, token);
        s3::run_one(*impl_, c);
        s3::ListPage page = s3::parse_page(*impl_, *c);
        for (auto& o : page.objects) {
            o.key = impl_->relative_key(o.key);
            out.push_back(std::move(o));
        }
        if (!page.truncated) {
            break;
        }
        if (!seen_tokens.insert(page.next_continuation_token).second) {
            std::rethrow_exception(
                s3::malformed(*impl_, *c, "ListObjectsV2 repeated a continuation token"));
        }
        token = page.next_continuation_token;
    }
    std::sort(out.begin(), out.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return out;
}

std::vector<ListedObject> R2Client::list_and_get(const std::string& prefix,
                                                 bool recursive,
                                                 const ListedGetFilter& want,
                                                 const BatchOptions& options) {
    std::lock_guard lock(impl_->operation_mutex);
    const std::string s3_prefix =
        impl_->config.prefix.empty() ? prefix : impl_->config.prefix + "/" + prefix;
    const std::size_t limit = s3::batch_limit(*impl_, options);
    detail::ProgressEmitter progress(options.progress, options.stage, 0);  // grows page by page
    Engine engine(*impl_, limit);
    std::deque<ListedObject> out;  // stable addresses for the GETs' continuations
    std::set<std::string> seen_tokens;
    std::function<void(const std::string&)> request_page = [&](const std::string& token) {
        auto c = s3::list_call(s3_prefix, recursive, token);
        c->done = [&](Call& call) {
            if (call.error) {
                std::rethrow_exception(call.error);  // ends the run with this error
            }
            s3::ListPage page = s3::parse_page(*impl_, call);
            // The next page first, ahead of this page's GETs.
            if (page.truncated) {
                if (!seen_tokens.insert(page.next_continuation_token).second) {
                    std::rethrow_exception(
                        s3::malformed(*impl_, call, "ListObjectsV2 repeated a continuation token"));
                }
                request_page(page.next_continuation_token);
            }
            std::size_t wanted = 0;
            for (auto& o : page.objects) {
                o.key = impl_->relative_key(o.key);
                out.push_back({std::move(o), std::nullopt});
                ListedObject& slot = out.back();
                auto request = want(slot.info);
                if (!request) {
                    continue;
                }
                ++wanted;
                slot.got.emplace();
                slot.got->key = request->key;
                auto g = s3::get_call(*impl_, request->key, request->if_none_match);
                g->done = [&slot, &progress, &options, inm = request->if_none_match](Call& got) {
                    s3::fill_get_result(*slot.got, got, inm);
                    if (options.on_got) {
                        options.on_got(*slot.got);
                    }
                    progress.item_done(slot.got->key);
                };
                engine.submit(std::move(g));
            }
            progress.add_to_total(wanted);
        };
        engine.submit_first(std::move(c));
    };
    s3::run_with_progress(*impl_, engine, progress, options.progress_interval,
                          [&] { request_page(""); });
    progress.finished();
    std::vector<ListedObject> sorted(std::make_move_iterator(out.begin()),
                                     std::make_move_iterator(out.end()));
    std::sort(sorted.begin(), sorted.end(),
              [](const ListedObject& a, const ListedObject& b) { return a.info.key < b.info.key; });
    return sorted;
}

void R2Client::remove(const std::string& key) {
    std::lock_guard lock(impl_->operation_mutex);
    auto c = s3::make_call("DeleteObject", "DELETE", impl_->full_key(key));
    c->accepted = {404};
    s3::run_one(*impl_, c);
}

std::vector<MultipartUploadInfo> R2Client::list_multipart_uploads(const std::string& prefix) {
    std::lock_guard lock(impl_->operation_mutex);
    const std::string s3_prefix =
        impl_->config.prefix.empty() ? prefix : impl_->config.prefix + "/" + prefix;
    std::vector<MultipartUploadInfo> out;
    std::string key_marker;
    std::string id_marker;
    for (int page_no = 0; page_no < 100000; ++page_no) {
        auto c = s3::make_call("ListMultipartUploads", "GET", "");
        c->query = {{"uploads", ""}};
        if (!s3_prefix.empty()) {
            c->query.push_back({"prefix", s3_prefix});
        }
        if (!key_marker.empty()) {
            c->query.push_back({"key-marker", key_marker});
        }
        if (!id_marker.empty()) {
            c->query.push_back({"upload-id-marker", id_marker});
        }
        s3::run_one(*impl_, c);
        s3::UploadsPage page;
        try {
            page = s3::parse_list_multipart_uploads(c->response_body());
        } catch (const s3::S3XmlError& e) {
            std::rethrow_exception(s3::malformed(*impl_, *c, e.what()));
        }
        for (const auto& u : page.uploads) {
            out.push_back({impl_->relative_key(u.key), u.upload_id, u.initiated});
        }
        if (!page.truncated ||
            (page.next_key_marker == key_marker && page.next_upload_id_marker == id_marker)) {
            break;
        }
        key_marker = page.next_key_marker;
        id_marker = page.next_upload_id_marker;
    }
    return out;
}

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): S3's AbortMultipartUpload order
void R2Client::abort_multipart_upload(const std::string& key, const std::string& upload_id) {
    std::lock_guard lock(impl_->operation_mutex);
    auto c = s3::make_call("AbortMultipartUpload", "DELETE", impl_->full_key(key));
    c->query = {{"uploadId", upload_id}};
    c->accepted = {404};
    s3::run_one(*impl_, c);
}

R2Stats R2Client::stats() const {
    std::lock_guard lock(impl_->stats_mutex);
    return impl_->stats;
}

void R2Client::reset_stats() {
    std::lock_guard lock(impl_->stats_mutex);
    impl_->stats = {};
}

// ------------------------------------------------------------------------------------------

namespace detail {

std::unique_ptr<Store> open_s3_store(const std::string& url,
                                     const StoreOptions& options,
                                     const RunOptions& run) {
    const s3::StoreLocation location = s3::parse_store_url(url);
    // The environment the run was given (mip-build's snapshot: its own block is scrubbed).
    R2Config config = run.environment
                          ? R2Config::from_environment(*run.environment, options.endpoint)
                          : R2Config::from_environment(options.endpoint);
    config.bucket = location.bucket;
    config.prefix = location.prefix;
    config.logger = run.logger;
    config.allow_insecure_loopback = options.allow_insecure_loopback;
    config.ca_file = run.ca_file;
    config.max_in_flight = std::clamp<std::size_t>(run.max_in_flight, 1, 256);
    config.request_deadline = std::chrono::seconds(options.request_deadline);
    return std::make_unique<R2Client>(std::move(config));
}

}  // namespace detail

}  // namespace mip
