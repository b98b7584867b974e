#include "detail/s3_put_job.hpp"

#include <algorithm>

#include <mip/error.hpp>

#include "detail/s3_requests.hpp"
#include "detail/s3_xml.hpp"
#include "detail/text.hpp"

namespace mip::detail::s3 {

void PutJob::finish() {
    if (on_finished) {
        auto f = std::move(on_finished);
        on_finished = nullptr;
        f();
    }
}

void PutJob::fail(std::exception_ptr e) {
    out.error = std::move(e);
    finish();
}

void PutJob::begin() {
    out.key = request.key;
    key = impl.full_key(request.key);
    if (!request.copy_from.empty()) {
        copy_object();
        return;
    }
    try {
        if (!request.sha256.empty() && !is_lower_hex(request.sha256, 64)) {
            throw SpecError("put " + request.key, {{"sha256", "must be 64 lowercase hex digits"}});
        }
        if (request.file) {
            file = open_for_reading(*request.file, size);
        }
    } catch (...) {
        fail(std::current_exception());
        return;
    }
    if (request.file && size >= impl.config.multipart_threshold) {
        begin_multipart();
    } else {
        single_put();
    }
}

void PutJob::single_put() {
    auto c = make_call("PutObject", "PUT", key);
    c->has_body = true;
    // A known digest is signed as is (the server checks it); else hash the body, and keep
    // its MD5 to check the ETag.
    c->payload_hash = request.sha256;
    c->want_md5 = request.sha256.empty();
    if (file) {
        c->file = file;
        c->file_path = *request.file;
        c->length = size;
    } else {
        c->body_ref = &request.data;
    }
    const PutOptions& o = request.options;
    add_put_headers(*c, o, true);
    if (o.if_none_match || !o.if_match.empty()) {
        c->accepted = {412};
    }
    auto self = shared_from_this();
    c->done = [self](Call& call) { self->single_put_done(call); };
    engine.submit(std::move(c));
}

void PutJob::single_put_done(Call& c) {
    out.attempts += c.attempts;
    if (c.error) {
        fail(c.error);
        return;
    }
    if (c.status == 412) {
        if (request.options.if_none_match && request.options.accept_existing_size) {
            check_existing_size();
            return;
        }
        if (c.ambiguous && request.options.if_none_match && !c.body_md5.empty()) {
            // An earlier attempt may have landed: confirm with HEAD (ETag == our MD5).
            confirm_landed(c.body_md5);
            return;
        }
        out.precondition_failed = true;
        finish();
        return;
    }
    out.etag = unquote_etag(c.header("etag"));
    if (is_lower_hex(out.etag, 32) && !c.body_md5.empty() && out.etag != c.body_md5) {
        fail(malformed(
            impl, c,
            "ETag " + out.etag + " is not the MD5 of the bytes sent (" + c.body_md5 + ")"));
        return;
    }
    out.written = true;
    finish();
}

void PutJob::confirm_landed(const std::string& md5) {
    auto h = head_call(impl, request.key);
    auto self = shared_from_this();
    h->done = [self, md5](Call& call) {
        self->out.attempts += call.attempts;
        if (call.error) {
            self->fail(call.error);
            return;
        }
        const bool ours = call.status == 200 && unquote_etag(call.header("etag")) == md5;
        self->out.written = ours;
        self->out.precondition_failed = !ours;
        self->out.etag = ours ? md5 : std::string();
        self->finish();
    };
    engine.submit(std::move(h));
}

/// 412 on a create-only put of a content-addressed key: the object there must have our size.
void PutJob::check_existing_size() {
    auto h = head_call(impl, request.key);
    auto self = shared_from_this();
    h->done = [self](Call& call) {
        self->out.attempts += call.attempts;
        if (call.error) {
            self->fail(call.error);
            return;
        }
        self->accept_existing(call);
    };
    engine.submit(std::move(h));
}

/// After a HEAD of an existing object: accepted when its size is the expected one.
void PutJob::accept_existing(const Call& head) {
    const auto info = info_from_head(impl, head);
    const auto expected = *request.options.accept_existing_size;
    if (head.status == 200 && info.size == expected) {
        out.precondition_failed = true;
        out.etag = info.etag;
        finish();
        return;
    }
    fail(malformed(impl, head,
                   head.status == 200
                       ? "exists with a different size (" + std::to_string(info.size) +
                             " bytes, expected " + std::to_string(expected) + ")"
                       : "answered 412 to a create-only put, but the object is not there"));
}

void PutJob::copy_object() {
    auto c = make_call("CopyObject", "PUT", key);
    c->has_body = true;  // empty: S3 wants a Content-Length on PUT
    c->headers.push_back({"x-amz-copy-source",
                          sv::object_path(impl.config.bucket, impl.full_key(request.copy_from))});
    c->headers.push_back({"x-amz-metadata-directive", "REPLACE"});
    add_put_headers(*c, request.options, true);
    c->accepted = {};
    if (request.options.if_none_match || !request.options.if_match.empty()) {
        c->accepted = {412};
    }
    c->error_in_200 = true;  // a copy can fail after its 200 has started
    auto self = shared_from_this();
    c->done = [self](Call& call) {
        self->out.attempts += call.attempts;
        if (call.error) {
            self->fail(call.error);
            return;
        }
        if (call.status == 412) {
            self->out.precondition_failed = true;
            self->finish();
            return;
        }
        try {
            self->out.etag = parse_copy_object(call.response_body());
        } catch (const S3XmlError& e) {
            self->fail(malformed(self->impl, call, e.what()));
            return;
        }
        self->out.written = true;
        self->finish();
    };
    engine.submit(std::move(c));
}

void PutJob::begin_multipart() {
    try {
        plan = plan_multipart(size, impl.config.part_size);
    } catch (...) {
        fail(std::current_exception());
        return;
    }
    const PutOptions& o = request.options;
    if (o.if_none_match || !o.if_match.empty()) {
        // Conditions are checked with a HEAD before the upload (no conditional Complete).
        auto h = head_call(impl, request.key);
        auto self = shared_from_this();
        h->done = [self](Call& call) {
            self->out.attempts += call.attempts;
            if (call.error) {
                self->fail(call.error);
                return;
            }
            const PutOptions& opt = self->request.options;
            const bool exists = call.status == 200;
            if (exists && opt.if_none_match && opt.accept_existing_size) {
                self->accept_existing(call);
                return;
            }
            const bool ok = opt.if_none_match ? !exists
                                              : exists && unquote_etag(call.header("etag")) ==
                                                              unquote_etag(opt.if_match);
            if (!ok) {
                self->out.precondition_failed = true;
                self->finish();
                return;
            }
            self->create_upload();
        };
        engine.submit(std::move(h));
        return;
    }
    create_upload();
}

void PutJob::create_upload() {
    auto c = make_call("CreateMultipartUpload", "POST", key);
    c->query = {{"uploads", ""}};
    c->has_body = true;
    c->critical = true;
    add_put_headers(*c, request.options, false);
    auto self = shared_from_this();
    c->done = [self](Call& call) {
        self->out.attempts += call.attempts;
        if (call.error) {
            self->fail(call.error);
            return;
        }
        try {
            self->upload_id = parse_initiate_multipart(call.response_body());
        } catch (const S3XmlError& e) {
            self->fail(malformed(self->impl, call, e.what()));
            return;
        }
        {
            std::lock_guard lock(self->impl.stats_mutex);
            ++self->impl.stats.multipart_uploads;
        }
        self->impl.active_uploads[self->upload_id] = self->key;
        self->etags.assign(self->plan.part_count, std::string());
        self->launch_parts();
    };
    engine.submit(std::move(c));
}

void PutJob::launch_parts() {
    while (!error && next_part <= plan.part_count && parts_running < impl.config.parts_in_flight) {
        const std::uint32_t n = next_part++;
        auto c = make_call("UploadPart", "PUT", key);
        c->query = {{"partNumber", std::to_string(n)}, {"uploadId", upload_id}};
        c->has_body = true;
        c->file = file;
        c->file_path = *request.file;
        c->offset = static_cast<std::uint64_t>(n - 1) * plan.part_size;
        c->length = std::min(plan.part_size, size - c->offset);
        ++parts_running;
        auto self = shared_from_this();
        c->done = [self, n](Call& call) { self->part_done(n, call); };
        engine.submit(std::move(c));
    }
}

void PutJob::part_done(std::uint32_t n, Call& c) {
    --parts_running;
    out.attempts += c.attempts;
    if (c.error && !error) {
        error = c.error;
    } else if (!c.error) {
        etags[n - 1] = c.header("etag");
        if (etags[n - 1].empty() && !error) {
            error = malformed(impl, c, "UploadPart " + std::to_string(n) + " returned no ETag");
        }
        ++parts_done;
    }
    if (error) {
        if (parts_running == 0) {
            abort_upload();
        }
        return;
    }
    if (parts_done == plan.part_count) {
        complete_upload();
    } else {
        launch_parts();
    }
}

void PutJob::complete_upload() {
    std::vector<std::pair<std::uint32_t, std::string>> parts;
    for (std::uint32_t i = 0; i < plan.part_count; ++i) {
        parts.emplace_back(i + 1, etags[i]);
    }
    auto c = make_call("CompleteMultipartUpload", "POST", key);
    c->query = {{"uploadId", upload_id}};
    c->has_body = true;
    c->body = complete_multipart_body(parts);
    c->headers.push_back({"content-type", "application/xml"});
    c->error_in_200 = true;
    c->critical = true;
    auto self = shared_from_this();
    c->done = [self](Call& call) { self->complete_done(call); };
    engine.submit(std::move(c));
}

void PutJob::complete_done(Call& c) {
    out.attempts += c.attempts;
    if (c.error) {
        bool no_such_upload = false;
        try {
            std::rethrow_exception(c.error);
        } catch (const RemoteError& e) {
            no_such_upload = e.s3_code() == "NoSuchUpload";
        } catch (...) {
        }
        if (no_such_upload && c.ambiguous) {
            // A retried Complete whose first attempt landed: confirm with HEAD.
            confirm_completed();
            return;
        }
        error = c.error;
        abort_upload();
        return;
    }
    try {
        out.etag = parse_complete_multipart(c.response_body());
    } catch (const S3XmlError& e) {
        error = malformed(impl, c, e.what());
        abort_upload();
        return;
    }
    impl.active_uploads.erase(upload_id);
    out.written = true;
    finish();
}

void PutJob::confirm_completed() {
    auto h = head_call(impl, request.key);
    auto self = shared_from_this();
    h->done = [self](Call& call) {
        self->out.attempts += call.attempts;
        self->impl.active_uploads.erase(self->upload_id);
        if (call.error) {
            self->fail(call.error);
            return;
        }
        const auto info = info_from_head(self->impl, call);
        if (call.status == 200 && info.size == self->size) {
            self->out.etag = info.etag;
            self->out.written = true;
            self->finish();
            return;
        }
        self->fail(malformed(self->impl, call,
                             "CompleteMultipartUpload answered NoSuchUpload and the object is "
                             "not there"));
    };
    engine.submit(std::move(h));
}

void PutJob::abort_upload() {
    auto c = make_call("AbortMultipartUpload", "DELETE", key);
    c->query = {{"uploadId", upload_id}};
    c->accepted = {404};
    auto self = shared_from_this();
    c->done = [self](Call& call) {
        self->out.attempts += call.attempts;
        if (!call.error) {
            self->impl.active_uploads.erase(self->upload_id);
            std::lock_guard lock(self->impl.stats_mutex);
            ++self->impl.stats.multipart_aborts;
        } else {
            self->impl.config.logger.warning("could not abort multipart upload " + self->upload_id +
                                             " of s3://" + self->impl.config.bucket + "/" +
                                             self->key);
        }
        self->fail(self->error);
    };
    engine.submit(std::move(c));
}
}  // namespace mip::detail::s3
