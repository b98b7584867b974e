#pragma once
// Private: one object put of the R2 client, as continuations on an Engine (s3_engine.hpp):
// PutObject (single request), CopyObject (server-side), or a multipart upload (Create, parts in
// flight, Complete; Abort on failure). Conditions (If-None-Match, If-Match) are honoured on
// every path; answers that may hide a landed earlier attempt are confirmed with HEAD.

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <mip/r2_client.hpp>
#include <mip/store.hpp>

#include "detail/s3_engine.hpp"

namespace mip::detail::s3 {

/// Start with `std::make_shared<PutJob>(...)->begin()`; `on_finished` runs once, after `out` is
/// final (written, precondition_failed, or error).
struct PutJob : std::enable_shared_from_this<PutJob> {
    ClientState& impl;
    Engine& engine;
    const PutRequest& request;
    PutResult& out;
    std::function<void()> on_finished;
    std::string key;  // full key
    std::shared_ptr<UniqueFd> file;
    std::uint64_t size = 0;
    // multipart
    MultipartPlan plan;
    std::string upload_id;
    std::vector<std::string> etags;
    std::uint32_t next_part = 1;
    std::uint32_t parts_running = 0;
    std::uint32_t parts_done = 0;
    std::exception_ptr error;

    PutJob(ClientState& i, Engine& e, const PutRequest& r, PutResult& o, std::function<void()> f)
        : impl(i), engine(e), request(r), out(o), on_finished(std::move(f)) {}

    /// Runs `on_finished` (once).
    void finish();
    void fail(std::exception_ptr e);
    /// Starts the put: CopyObject, PutObject or a multipart upload (files of at least
    /// `multipart_threshold` bytes).
    void begin();
    void single_put();
    void single_put_done(Call& c);
    void confirm_landed(const std::string& md5);
    /// 412 on a create-only put of a content-addressed key: the object there must have our size.
    void check_existing_size();
    /// After a HEAD of an existing object: accepted when its size is the expected one.
    void accept_existing(const Call& head);
    void copy_object();
    void begin_multipart();
    void create_upload();
    void launch_parts();
    void part_done(std::uint32_t n, Call& c);
    void complete_upload();
    void complete_done(Call& c);
    void confirm_completed();
    void abort_upload();
};

}  // namespace mip::detail::s3
