// Store (store.hpp), LocalStore (local_store.hpp) and open_store(). Every call that touches the
// disk or the network releases the GIL.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <mip/local_store.hpp>
#include <mip/r2_client.hpp>
#include <mip/store.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"
#include "options.hpp"

namespace mip::bindings {

namespace {

py::object bytes_or_none(const std::optional<std::string>& data) {
    if (!data) {
        return py::none();
    }
    return py::bytes(*data);
}

PutResult put_one(Store& store,
                  const std::string& key,
                  const py::object& data,
                  const py::object& file,
                  PutOptions options,
                  const std::string& copy_from = "",
                  const std::string& sha256 = "") {
    PutRequest request;
    request.key = key;
    request.options = std::move(options);
    request.sha256 = sha256;
    if (!copy_from.empty()) {
        if (!data.is_none() || !file.is_none()) {
            throw py::value_error("put(): give data, file or copy_from, not several");
        }
        request.copy_from = copy_from;
    } else if (!file.is_none()) {
        if (!data.is_none()) {
            throw py::value_error("put(): give data or file, not both");
        }
        request.file = file.cast<std::filesystem::path>();
    } else if (py::isinstance<py::bytes>(data) || py::isinstance<py::str>(data)) {
        request.data = data.cast<std::string>();  // a str as UTF-8
    } else if (!data.is_none()) {
        request.data = py::bytes(data).cast<std::string>();  // bytearray, memoryview
    } else {
        throw py::value_error("put(): give data (bytes) or file (a path)");
    }
    py::gil_scoped_release release;
    return store.put(request);
}

void bind_r2_client(py::module_& m) {
    py::class_<R2Config> config(m, "R2Config",
                                "Configuration of an R2Client. Secrets never appear in repr().");
    config.def_readwrite("endpoint", &R2Config::endpoint)
        .def_readwrite("bucket", &R2Config::bucket)
        .def_readwrite("prefix", &R2Config::prefix)
        .def_readwrite("access_key_id", &R2Config::access_key_id)
        .def_readwrite("secret_access_key", &R2Config::secret_access_key)
        .def_readwrite("session_token", &R2Config::session_token)
        .def_readwrite("region", &R2Config::region)
        .def_readwrite("max_in_flight", &R2Config::max_in_flight)
        .def_readwrite("retries", &R2Config::retries)
        .def_readwrite("backoff_base", &R2Config::backoff_base)
        .def_readwrite("backoff_cap", &R2Config::backoff_cap)
        .def_readwrite("part_size", &R2Config::part_size)
        .def_readwrite("multipart_threshold", &R2Config::multipart_threshold)
        .def_readwrite("parts_in_flight", &R2Config::parts_in_flight)
        .def_readwrite("allow_insecure_loopback", &R2Config::allow_insecure_loopback)
        .def_readwrite("ca_file", &R2Config::ca_file)
        .def_readwrite("connect_timeout", &R2Config::connect_timeout)
        .def_readwrite("stall_timeout", &R2Config::stall_timeout)
        .def_readwrite("request_timeout", &R2Config::request_timeout)
        .def_readwrite("request_deadline", &R2Config::request_deadline)
        .def_static(
            "from_environment",
            [](const py::object& environment, const std::string& endpoint) {
                if (environment.is_none()) {
                    return R2Config::from_environment(endpoint);
                }
                return R2Config::from_environment(
                    environment.cast<std::map<std::string, std::string>>(), endpoint);
            },
            py::arg("environment") = py::none(), py::arg("endpoint") = "",
            "Credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (required), "
            "AWS_SESSION_TOKEN, AWS_ENDPOINT_URL (unless endpoint is given), read from "
            "`environment` (a dict) or os.environ. Raises AuthError naming a missing variable.")
        .def("__repr__", [](const R2Config& c) {
            return "R2Config(endpoint=" + std::string(py::repr(to_py_str(c.endpoint))) +
                   ", bucket=" + std::string(py::repr(to_py_str(c.bucket))) +
                   ", prefix=" + std::string(py::repr(to_py_str(c.prefix))) +
                   ", credentials=" + (c.access_key_id.empty() ? "unset" : "set") + ")";
        });
    add_kwargs_init(config, /*with_repr=*/false);

    py::class_<R2Stats>(m, "R2Stats", "Request counters of an R2Client.")
        .def_readonly("requests", &R2Stats::requests)
        .def_readonly("retries", &R2Stats::retries)
        .def_readonly("retries_by_reason", &R2Stats::retries_by_reason)
        .def_readonly("failures_by_reason", &R2Stats::failures_by_reason)
        .def_readonly("multipart_uploads", &R2Stats::multipart_uploads)
        .def_readonly("multipart_aborts", &R2Stats::multipart_aborts)
        .def("__repr__", [](const R2Stats& s) {
            return "R2Stats(requests=" + std::to_string(s.requests) +
                   ", retries=" + std::to_string(s.retries) + ")";
        });

    py::class_<MultipartUploadInfo>(m, "MultipartUploadInfo", "An unfinished multipart upload.")
        .def_readonly("key", &MultipartUploadInfo::key)
        .def_readonly("upload_id", &MultipartUploadInfo::upload_id)
        .def_readonly("initiated", &MultipartUploadInfo::initiated)
        .def("__repr__", [](const MultipartUploadInfo& u) {
            return "MultipartUploadInfo(key=" + std::string(py::repr(to_py_str(u.key))) + ")";
        });

    py::class_<R2Client, Store>(m, "R2Client",
                                "An S3/R2 bucket prefix as a Store (SigV4, path-style).")
        .def(py::init([](const py::object& base, const py::kwargs& kwargs) {
                 R2Config c = make_options<R2Config>(base, kwargs);
                 c.logger = python_logger();
                 py::gil_scoped_release release;
                 return std::make_unique<R2Client>(std::move(c));
             }),
             py::arg("config") = py::none(),
             "R2Client(config=None, **kwargs): kwargs are R2Config fields. Raises SpecError "
             "for a bad configuration, AuthError for empty credentials. Does not connect.")
        .def_property_readonly("bucket", &R2Client::bucket)
        .def_property_readonly("prefix", &R2Client::prefix)
        .def_property_readonly("endpoint", &R2Client::endpoint)
        .def("list_multipart_uploads", &R2Client::list_multipart_uploads, py::arg("prefix") = "",
             py::call_guard<py::gil_scoped_release>())
        .def("abort_multipart_upload", &R2Client::abort_multipart_upload, py::arg("key"),
             py::arg("upload_id"), py::call_guard<py::gil_scoped_release>())
        .def("stats", &R2Client::stats)
        .def("reset_stats", &R2Client::reset_stats)
        .def("__repr__", [](const R2Client& c) {
            return "R2Client(" + std::string(py::repr(to_py_str(c.describe()))) + ")";
        });
}

}  // namespace

namespace {

void bind_store_values(py::module_& m) {
    py::class_<ObjectInfo>(m, "ObjectInfo", "One object of a store listing.")
        .def(py::init<>())
        .def_readwrite("key", &ObjectInfo::key)
        .def_readwrite("size", &ObjectInfo::size)
        .def_readwrite("etag", &ObjectInfo::etag)
        .def_readwrite("last_modified", &ObjectInfo::last_modified)
        .def(py::self == py::self)  // NOLINT(misc-redundant-expression)
        .def("__repr__", [](const ObjectInfo& o) {
            return "ObjectInfo(key=" + std::string(py::repr(to_py_str(o.key))) +
                   ", size=" + std::to_string(o.size) +
                   ", etag=" + std::string(py::repr(to_py_str(o.etag))) + ")";
        });

    py::class_<PutResult>(m, "PutResult", "Outcome of one put().")
        .def_readonly("key", &PutResult::key)
        .def_readonly("written", &PutResult::written, "The object now holds our bytes.")
        .def_readonly("precondition_failed", &PutResult::precondition_failed,
                      "A condition (if_none_match / if_match) did not hold; not an error.")
        .def_readonly("etag", &PutResult::etag)
        .def_readonly("attempts", &PutResult::attempts)
        .def_property_readonly(
            "error", [](const PutResult& r) { return exception_object(r.error); },
            "The exception a batch put failed with (a MipError subclass), or None.")
        .def("__repr__", [](const PutResult& r) {
            return "PutResult(key=" + std::string(py::repr(to_py_str(r.key))) +
                   ", written=" + (r.written ? "True" : "False") +
                   ", precondition_failed=" + (r.precondition_failed ? "True" : "False") + ")";
        });
}

void bind_store_class(py::module_& m) {
    bind_batch_types(m);

    py::class_<Store> store(m, "Store",
                            "An object store: a local directory (LocalStore) or S3/R2 (R2Client). "
                            "Use one from one thread at a time.");
    store.def("describe", &Store::describe, "Where the store is (never holds credentials).")
        .def("default_base_url", &Store::default_base_url,
             "Public URL of the prefix when known (file://... for a local store), else ''.")
        .def(
            "put",
            [](Store& s, const std::string& key, const py::object& data, const py::object& file,
               const std::string& content_type, const std::string& cache_control,
               bool if_none_match, const std::string& if_match, const std::string& copy_from,
               const std::string& sha256, std::optional<std::uint64_t> accept_existing_size) {
                return put_one(s, key, data, file,
                               PutOptions{content_type, cache_control, if_none_match, if_match,
                                          accept_existing_size},
                               copy_from, sha256);
            },
            py::arg("key"), py::arg("data") = py::none(), py::kw_only(),
            py::arg("file") = py::none(), py::arg("content_type") = "",
            py::arg("cache_control") = "", py::arg("if_none_match") = false,
            py::arg("if_match") = "", py::arg("copy_from") = "", py::arg("sha256") = "",
            py::arg("accept_existing_size") = py::none(),
            "Writes `data` (bytes) or the file at `file` under `key`, or copies the object "
            "`copy_from` of the same store (S3 CopyObject), atomically. `sha256`: the body's "
            "known digest (hex), signed instead of re-hashing the file. `accept_existing_size`: "
            "with if_none_match, an existing object of that size counts as this content. Raises "
            "on failure; a failed condition is reported in the result.")
        .def(
            "get",
            [](Store& s, const std::string& key) {
                std::optional<std::string> data;
                {
                    py::gil_scoped_release release;
                    data = s.get(key);
                }
                return bytes_or_none(data);
            },
            py::arg("key"), "The object's bytes, or None when absent.")
        .def("get_to_file", &Store::get_to_file, py::arg("key"), py::arg("destination"),
             py::call_guard<py::gil_scoped_release>(),
             "Streams the object into `destination` (atomically). False when absent.")
        .def("head", &Store::head, py::arg("key"), py::call_guard<py::gil_scoped_release>(),
             "ObjectInfo, or None when absent.")
        .def("list", &Store::list, py::arg("prefix") = "", py::arg("recursive") = true,
             py::call_guard<py::gil_scoped_release>(),
             "Every key starting with `prefix`, sorted bytewise; with recursive=False only keys "
             "with no '/' after the prefix.")
        .def("remove", &Store::remove, py::arg("key"), py::call_guard<py::gil_scoped_release>(),
             "Deletes the object; an absent key is not an error.");
    bind_batch_calls(store);
    store.def("__repr__", [](const Store& s) {
        return "<mip_native.Store " + std::string(py::repr(to_py_str(s.describe()))) + ">";
    });
}

}  // namespace

void bind_store(py::module_& m) {
    bind_store_values(m);
    bind_store_class(m);

    py::class_<LocalStore, Store>(m, "LocalStore",
                                  "A directory as a store; writes are temp file + rename.")
        .def(py::init([](const std::filesystem::path& root) {
                 Logger logger = python_logger();
                 py::gil_scoped_release release;
                 return std::make_unique<LocalStore>(root, std::move(logger));
             }),
             py::arg("root"), "Creates `root` if missing. Raises IoError when it cannot.")
        .def_property_readonly("root", &LocalStore::root)
        .def("path_for", &LocalStore::path_for, py::arg("key"),
             "The file holding `key` (whether or not it exists).")
        .def("__repr__", [](const LocalStore& s) {
            return "LocalStore(" + std::string(py::repr(py::cast(s.root()))) + ")";
        });

    bind_r2_client(m);

    m.def(
        "open_store",
        // NOLINTNEXTLINE(bugprone-easily-swappable-parameters): Python's keyword signature.
        [](const std::string& url, const std::string& endpoint, bool allow_insecure_loopback,
           const std::string& ca_file, std::size_t max_in_flight) {
            StoreOptions options;
            options.endpoint = endpoint;
            options.allow_insecure_loopback = allow_insecure_loopback;
            RunOptions run;
            run.logger = python_logger();
            run.ca_file = ca_file;
            run.max_in_flight = max_in_flight;
            py::gil_scoped_release release;
            return open_store(url, options, run);
        },
        py::arg("url"), py::kw_only(), py::arg("endpoint") = StoreOptions{}.endpoint,
        py::arg("allow_insecure_loopback") = StoreOptions{}.allow_insecure_loopback,
        py::arg("ca_file") = RunOptions{}.ca_file,
        py::arg("max_in_flight") = RunOptions{}.max_in_flight,
        "Opens a store: a path or file:///... (LocalStore, created if missing) or "
        "s3://bucket[/prefix] (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, "
        "endpoint from `endpoint` or AWS_ENDPOINT_URL). Raises SpecError for a bad URL, "
        "AuthError when S3 credentials are missing.");
}

}  // namespace mip::bindings
