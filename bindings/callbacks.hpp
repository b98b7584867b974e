#pragma once
// GIL, Ctrl-C and logging bridges between libmip and Python.
//
// * Long calls release the GIL (`py::gil_scoped_release` in each binding).
// * Progress callbacks are Python callables called with the GIL held, on the thread that made the
//   long call (libmip delivers progress on the calling thread). After each call,
//   `PyErr_CheckSignals()` runs, so Ctrl-C raises `KeyboardInterrupt` inside the C++ call; libmip
//   cleans up and rethrows it unchanged. A call without a Python callback still gets a
//   signal-checking callback.
// * Library logs go to `logging.getLogger("mip_native")`, taking the GIL (any thread).

#include <mip/log.hpp>
#include <mip/progress.hpp>

#include "bindings.hpp"

namespace mip::bindings {

namespace py = pybind11;

/// Name of the Python logger receiving libmip's messages.
inline constexpr const char* logger_name = "mip_native";

/// A Logger forwarding to `logging.getLogger("mip_native")`. Its threshold is that logger's
/// effective level when this is called (services take it when constructed). Must be called with
/// the GIL held.
[[nodiscard]] Logger python_logger();

/// Wraps a Python callable (or None) as a ProgressCallback: the callable receives a
/// `ProgressEvent`; then pending signals are checked (`KeyboardInterrupt` propagates as
/// `py::error_already_set`). Copying and destroying the result is safe without the GIL.
[[nodiscard]] ProgressCallback progress_callback(const py::object& callable);

/// The Python callable held by a callback made by `progress_callback` (None otherwise).
[[nodiscard]] py::object progress_callable(const ProgressCallback& callback);

/// Gives `callback` a signal check if it is empty, so Ctrl-C works without a Python callback.
void ensure_signal_checks(ProgressCallback& callback);

/// Decodes bytes as UTF-8, replacing invalid sequences (paths and messages from the OS).
[[nodiscard]] py::str to_py_str(std::string_view text);

void bind_progress(py::module_& m);

}  // namespace mip::bindings
