// The exception tree, mirrored: mip_native.MipError and one subclass per C++ class, with the
// C++ accessors as attributes. Translators are registered base first, because pybind11 tries the
// newest translator first (a base registered last would swallow its subclasses).
//
//   MipError(Exception)               .code (ErrorCode name, e.g. "invalid_spec")
//   ├── SpecError(MipError, ValueError)   .subject, .issues [(field, message), ...]
//   ├── BuildError                        .package
//   ├── IoError(MipError, OSError)        .path, .errno (None unless a system error)
//   ├── ArchiveError
//   ├── NetworkError                      .url, .curl_code
//   ├── RemoteError                       .http_status, .s3_code, .request_id, .bucket, .key,
//   │   └── AuthError                     .operation
//   ├── LockMismatch                      .differences
//   └── Cancelled

#include <string>
#include <system_error>
#include <vector>

#include <mip/error.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"

namespace mip::bindings {

namespace {

py::object exception_type(const char* name) { return py::module_::import("mip_native").attr(name); }

/// Builds the Python exception for `e` with its common attributes, lets `fill` add the rest, and
/// sets it as the current Python error.
template <class Fill>
void raise_python(const char* name, const Error& e, Fill&& fill) {
    py::object type = exception_type(name);
    py::object instance = type(to_py_str(e.what()));
    instance.attr("code") = to_string(e.code());
    fill(instance);
    PyErr_SetObject(type.ptr(), instance.ptr());
}

void set_error(const Error& e) {
    raise_python("MipError", e, [](py::object&) {});
}
void set_error(const SpecError& e) {
    raise_python("SpecError", e, [&](py::object& x) {
        py::list issues;
        for (const auto& issue : e.issues()) {
            issues.append(py::make_tuple(to_py_str(issue.field), to_py_str(issue.message)));
        }
        x.attr("issues") = issues;
        x.attr("subject") = to_py_str(e.subject());
    });
}
void set_error(const BuildError& e) {
    raise_python("BuildError", e,
                 [&](py::object& x) { x.attr("package") = to_py_str(e.package()); });
}
void set_error(const IoError& e) {
    raise_python("IoError", e, [&](py::object& x) {
        x.attr("path") = to_py_str(e.path());
        const std::error_code ec = e.error_code();
        if (ec &&
            (ec.category() == std::generic_category() || ec.category() == std::system_category())) {
            x.attr("errno") = ec.value();
        }
    });
}
void set_error(const ArchiveError& e) {
    raise_python("ArchiveError", e, [](py::object&) {});
}
void set_error(const NetworkError& e) {
    raise_python("NetworkError", e, [&](py::object& x) {
        x.attr("url") = to_py_str(e.url());
        x.attr("curl_code") = e.curl_code();
    });
}
void fill_remote(py::object& x, const RemoteError& e) {
    const auto& info = e.info();
    x.attr("http_status") = info.http_status;
    x.attr("s3_code") = to_py_str(info.s3_code);
    x.attr("request_id") = to_py_str(info.request_id);
    x.attr("bucket") = to_py_str(info.bucket);
    x.attr("key") = to_py_str(info.key);
    x.attr("operation") = to_py_str(info.operation);
}
void set_error(const RemoteError& e) {
    raise_python("RemoteError", e, [&](py::object& x) { fill_remote(x, e); });
}
void set_error(const AuthError& e) {
    raise_python("AuthError", e, [&](py::object& x) { fill_remote(x, e); });
}
void set_error(const LockMismatch& e) {
    raise_python("LockMismatch", e, [&](py::object& x) {
        py::list differences;
        for (const auto& d : e.differences()) {
            differences.append(to_py_str(d));
        }
        x.attr("differences") = differences;
    });
}
void set_error(const Cancelled& e) {
    raise_python("Cancelled", e, [](py::object&) {});
}

// By value: pybind11's ExceptionTranslator is `void (*)(std::exception_ptr)`.
template <class E>
void translate(std::exception_ptr p) {  // NOLINT(performance-unnecessary-value-param)
    try {
        if (p) {
            std::rethrow_exception(p);
        }
    } catch (const E& e) {
        set_error(e);
    }
}

py::object new_exception(py::module_& m, const char* name, py::handle bases, const char* doc) {
    const std::string qualified = std::string("mip_native.") + name;
    PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
    if (type == nullptr) {
        throw py::error_already_set();
    }
    py::object result = py::reinterpret_steal<py::object>(type);
    m.attr(name) = result;
    return result;
}

}  // namespace

py::object exception_object(const std::exception_ptr& error) {
    if (!error) {
        return py::none();
    }
    try {
        std::rethrow_exception(error);
    } catch (const Cancelled& e) {
        set_error(e);
    } catch (const LockMismatch& e) {
        set_error(e);
    } catch (const AuthError& e) {
        set_error(e);
    } catch (const RemoteError& e) {
        set_error(e);
    } catch (const NetworkError& e) {
        set_error(e);
    } catch (const ArchiveError& e) {
        set_error(e);
    } catch (const IoError& e) {
        set_error(e);
    } catch (const BuildError& e) {
        set_error(e);
    } catch (const SpecError& e) {
        set_error(e);
    } catch (const Error& e) {
        set_error(e);
    } catch (py::error_already_set& e) {
        e.restore();
    } catch (const std::exception& e) {
        PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (...) {
        PyErr_SetString(PyExc_RuntimeError, "unknown error");
    }
    py::error_already_set fetched;
    return fetched.value();
}

void bind_errors(py::module_& m) {
    py::object mip_error = new_exception(m, "MipError", PyExc_Exception,
                                         "Root of every libmip error. `code` is the ErrorCode name "
                                         "(\"invalid_spec\", \"io\", ...).");
    mip_error.attr("code") = "internal";

    py::object spec_error = new_exception(
        m, "SpecError", py::make_tuple(mip_error, py::handle(PyExc_ValueError)),
        "Invalid recipe or metadata. `issues` lists every (field, message) found; `subject` "
        "names the package and/or file. Also a ValueError.");
    spec_error.attr("code") = "invalid_spec";
    spec_error.attr("issues") = py::tuple();
    spec_error.attr("subject") = "";

    py::object build_error =
        new_exception(m, "BuildError", mip_error,
                      "A recipe, its worker or a compile script failed; `package` names it.");
    build_error.attr("code") = "build_failed";
    build_error.attr("package") = "";

    py::object io_error = new_exception(
        m, "IoError", py::make_tuple(mip_error, py::handle(PyExc_OSError)),
        "Local file-system failure; `path` names the file. Also an OSError (`errno` is set when "
        "the cause was a system error).");
    io_error.attr("code") = "io";
    io_error.attr("path") = "";

    py::object archive_error = new_exception(
        m, "ArchiveError", mip_error,
        "A zip archive could not be written, read or trusted (zip-slip, ZIP64, symlinks...).");
    archive_error.attr("code") = "archive";

    py::object network_error = new_exception(
        m, "NetworkError", mip_error,
        "Transport failure (DNS, connect, TLS, timeout); `url` and `curl_code` say where.");
    network_error.attr("code") = "network";
    network_error.attr("url") = "";
    network_error.attr("curl_code") = 0;

    py::object remote_error = new_exception(
        m, "RemoteError", mip_error,
        "The server answered with an error: `http_status`, `s3_code`, `request_id`, `bucket`, "
        "`key`, `operation`.");
    remote_error.attr("code") = "remote";
    remote_error.attr("http_status") = 0;
    remote_error.attr("s3_code") = "";
    remote_error.attr("request_id") = "";
    remote_error.attr("bucket") = "";
    remote_error.attr("key") = "";
    remote_error.attr("operation") = "";

    py::object auth_error = new_exception(m, "AuthError", remote_error,
                                          "Credentials missing, rejected or not allowed.");
    auth_error.attr("code") = "auth";

    py::object lock_mismatch =
        new_exception(m, "LockMismatch", mip_error,
                      "`--from-lock` inputs differ from the lock; `differences` lists each one.");
    lock_mismatch.attr("code") = "lock_mismatch";
    lock_mismatch.attr("differences") = py::tuple();

    py::object cancelled = new_exception(m, "Cancelled", mip_error,
                                         "The call was cancelled (a callback raised Cancelled).");
    cancelled.attr("code") = "cancelled";

    // Base first: pybind11 tries the most recently registered translator first.
    py::register_local_exception_translator(&translate<Error>);
    py::register_local_exception_translator(&translate<SpecError>);
    py::register_local_exception_translator(&translate<BuildError>);
    py::register_local_exception_translator(&translate<IoError>);
    py::register_local_exception_translator(&translate<ArchiveError>);
    py::register_local_exception_translator(&translate<NetworkError>);
    py::register_local_exception_translator(&translate<RemoteError>);
    py::register_local_exception_translator(&translate<AuthError>);
    py::register_local_exception_translator(&translate<LockMismatch>);
    py::register_local_exception_translator(&translate<Cancelled>);
}

}  // namespace mip::bindings
