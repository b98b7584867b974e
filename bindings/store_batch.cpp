// The batch calls of Store (store.hpp): put_many, get_many, head_many, put_chains and
// list_and_get, with their request/result types. Each call releases the GIL for its whole run;
// per-item failures come back in the results (`error`: the exception the single call would have
// raised), never raised, except what the progress callback raises.

#include <optional>
#include <string>
#include <vector>

#include <mip/store.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"
#include "options.hpp"

namespace mip::bindings {

namespace {

py::object bytes_of(const std::string& data) { return py::bytes(data); }

/// bytes, bytearray, memoryview or str (UTF-8) as bytes.
std::string bytes_from(const py::object& value) {
    if (py::isinstance<py::bytes>(value) || py::isinstance<py::str>(value)) {
        return value.cast<std::string>();
    }
    return py::bytes(value).cast<std::string>();
}

BatchOptions batch_options(const py::object& base, const py::kwargs& kwargs) {
    BatchOptions o = make_options<BatchOptions>(base, kwargs);
    ensure_signal_checks(o.progress);
    return o;
}

void bind_put_request(py::module_& m) {
    py::class_<PutOptions> put_options(m, "PutOptions", "Conditions and headers of one put.");
    MIP_PY_FIELD(put_options, PutOptions, content_type, "'' = the store's default.");
    MIP_PY_FIELD(put_options, PutOptions, cache_control, "'' = none.");
    MIP_PY_FIELD(put_options, PutOptions, if_none_match, "Create only (If-None-Match: *).");
    MIP_PY_FIELD(put_options, PutOptions, if_match, "Replace only this ETag ('' = always).");
    MIP_PY_FIELD(put_options, PutOptions, accept_existing_size,
                 "With if_none_match: an existing object of this size counts as this content.");
    add_kwargs_init(put_options);

    py::class_<PutRequest> put(m, "PutRequest",
                               "One object to write: `file`, else `data`, else `copy_from`.");
    MIP_PY_FIELD(put, PutRequest, key, "The key, relative to the store's prefix.");
    MIP_PY_FIELD(put, PutRequest, file, "Stream this file (None = use data or copy_from).");
    put.def_property(
        "data", [](const PutRequest& r) { return bytes_of(r.data); },
        [](PutRequest& r, const py::object& v) { r.data = bytes_from(v); },
        "The bytes to write (bytes, bytearray, memoryview or str as UTF-8).");
    MIP_PY_FIELD(put, PutRequest, copy_from, "Copy this object of the same store (server-side).");
    MIP_PY_FIELD(put, PutRequest, sha256, "The body's known SHA-256 (hex; '' = compute).");
    MIP_PY_FIELD(put, PutRequest, options, "PutOptions.");
    add_kwargs_init(put, /*with_repr=*/false);
    put.def("__repr__", [](const PutRequest& r) {
        return "PutRequest(key=" + std::string(py::repr(to_py_str(r.key))) + ")";
    });
}

void bind_get_types(py::module_& m) {
    py::class_<GetRequest> get(m, "GetRequest", "One object to read.");
    MIP_PY_FIELD(get, GetRequest, key, "The key, relative to the store's prefix.");
    MIP_PY_FIELD(get, GetRequest, if_none_match,
                 "An ETag: an unchanged object comes back not_modified ('' = always read).");
    add_kwargs_init(get);

    py::class_<GetResult>(m, "GetResult", "Outcome of one read of a batch.")
        .def_readonly("key", &GetResult::key)
        .def_readonly("found", &GetResult::found)
        .def_readonly("not_modified", &GetResult::not_modified)
        .def_property_readonly(
            "data", [](const GetResult& r) { return bytes_of(r.data); }, "The bytes read.")
        .def_readonly("etag", &GetResult::etag)
        .def_readonly("attempts", &GetResult::attempts)
        .def_property_readonly(
            "error", [](const GetResult& r) { return exception_object(r.error); },
            "The exception this read failed with (a MipError subclass), or None.")
        .def("__repr__", [](const GetResult& r) {
            return "GetResult(key=" + std::string(py::repr(to_py_str(r.key))) +
                   ", found=" + (r.found ? "True" : "False") + ")";
        });

    py::class_<HeadResult>(m, "HeadResult", "Outcome of one HEAD of a batch.")
        .def_readonly("key", &HeadResult::key)
        .def_readonly("info", &HeadResult::info, "ObjectInfo, or None when absent.")
        .def_readonly("attempts", &HeadResult::attempts)
        .def_property_readonly(
            "error", [](const HeadResult& r) { return exception_object(r.error); },
            "The exception this HEAD failed with, or None.")
        .def("__repr__", [](const HeadResult& r) {
            return "HeadResult(key=" + std::string(py::repr(to_py_str(r.key))) + ")";
        });

    py::class_<ListedObject>(m, "ListedObject", "One object of list_and_get's listing.")
        .def_readonly("info", &ListedObject::info)
        .def_readonly("got", &ListedObject::got, "GetResult when it was asked for, else None.")
        .def("__repr__", [](const ListedObject& o) {
            return "ListedObject(key=" + std::string(py::repr(to_py_str(o.info.key))) + ")";
        });
}

}  // namespace

void bind_batch_types(py::module_& m) {
    py::class_<BatchOptions> batch(m, "BatchOptions", "Options of a store's batch calls.");
    MIP_PY_FIELD(batch, BatchOptions, max_in_flight, "Requests at once (stores may cap it).");
    MIP_PY_FIELD(batch, BatchOptions, stage, "The ProgressEvent stage name.");
    add_progress_field(batch);
    add_kwargs_init(batch);
    bind_put_request(m);
    bind_get_types(m);
}

void bind_batch_calls(py::class_<Store>& store) {
    store
        .def(
            "put_many",
            [](Store& s, const std::vector<PutRequest>& requests, const py::object& base,
               const py::kwargs& kwargs) {
                const BatchOptions o = batch_options(base, kwargs);
                py::gil_scoped_release release;
                return s.put_many(requests, o);
            },
            py::arg("requests"), py::arg("options") = py::none(),
            "Writes every PutRequest, max_in_flight at once; one PutResult each, in order. "
            "Keyword arguments are BatchOptions fields.")
        .def(
            "get_many",
            [](Store& s, const std::vector<GetRequest>& requests, const py::object& base,
               const py::kwargs& kwargs) {
                const BatchOptions o = batch_options(base, kwargs);
                py::gil_scoped_release release;
                return s.get_many(requests, o);
            },
            py::arg("requests"), py::arg("options") = py::none(),
            "Reads every GetRequest; one GetResult each, in order.")
        .def(
            "head_many",
            [](Store& s, const std::vector<std::string>& keys, const py::object& base,
               const py::kwargs& kwargs) {
                const BatchOptions o = batch_options(base, kwargs);
                py::gil_scoped_release release;
                return s.head_many(keys, o);
            },
            py::arg("keys"), py::arg("options") = py::none(),
            "HEADs every key; one HeadResult each, in order.")
        .def(
            "put_chains",
            [](Store& s, const std::vector<std::vector<PutRequest>>& chains, const py::object& base,
               const py::kwargs& kwargs) {
                const BatchOptions o = batch_options(base, kwargs);
                py::gil_scoped_release release;
                return s.put_chains(chains, o);
            },
            py::arg("chains"), py::arg("options") = py::none(),
            "Chains of puts: each chain's steps in order (a step starts once the one before "
            "succeeded), chains concurrently. Results are [chain][step]; a failed step ends its "
            "chain (later steps: attempts 0, no error).")
        .def(
            "list_and_get",
            [](Store& s, const std::string& prefix, bool recursive, const py::function& want,
               const py::object& base, const py::kwargs& kwargs) {
                const BatchOptions o = batch_options(base, kwargs);
                ListedGetFilter filter =
                    [&want](const ObjectInfo& info) -> std::optional<GetRequest> {
                    py::gil_scoped_acquire gil;
                    py::object request = want(info);
                    if (request.is_none()) {
                        return std::nullopt;
                    }
                    return request.cast<GetRequest>();
                };
                py::gil_scoped_release release;
                return s.list_and_get(prefix, recursive, filter, o);
            },
            py::arg("prefix") = "", py::arg("recursive") = true, py::kw_only(), py::arg("want"),
            py::arg("options") = py::none(),
            "Lists the prefix and reads each listed object `want(info)` returns a GetRequest "
            "for (None: skip it); `want` runs on the calling thread. Network stores read a "
            "page's objects while the next page is listed. Results sorted by key.");
}

}  // namespace mip::bindings
