#include "callbacks.hpp"

#include <memory>
#include <string>
#include <utility>

namespace mip::bindings {

namespace {

LogLevel from_python_level(int level) {
    if (level <= 10) {
        return LogLevel::debug;
    }
    if (level <= 20) {
        return LogLevel::info;
    }
    if (level <= 30) {
        return LogLevel::warning;
    }
    if (level <= 40) {
        return LogLevel::error;
    }
    return LogLevel::off;
}

void forward_log(LogLevel level, std::string_view message) {
    py::gil_scoped_acquire gil;
    try {
        py::module_::import("logging")
            .attr("getLogger")(logger_name)
            .attr("log")(static_cast<int>(level), to_py_str(message));
    } catch (py::error_already_set& e) {
        if (e.matches(PyExc_KeyboardInterrupt)) {
            // A pending Ctrl-C ran inside the logging call: re-arm it so the next signal check
            // (after the next progress event) raises it in the long call.
            PyErr_SetInterrupt();
        } else {
            e.discard_as_unraisable("mip_native logging bridge");
        }
    }
}

void log_to_python(LogLevel level, std::string_view message) noexcept {
    if (Py_IsInitialized() == 0) {
        return;
    }
    try {
        forward_log(level, message);
    } catch (...) {
        // A sink must not throw into libmip: taking the GIL or reporting the error failed.
    }
}

/// The callable, shared between copies of the std::function. Its last owner may be a libmip
/// thread without the GIL, so the deleter takes it.
struct PythonProgress {
    std::shared_ptr<py::object> callable;

    void operator()(const ProgressEvent& event) const {
        py::gil_scoped_acquire gil;
        if (callable && !callable->is_none()) {
            (*callable)(event);
        }
        if (PyErr_CheckSignals() != 0) {
            throw py::error_already_set();
        }
    }
};

std::shared_ptr<py::object> share(const py::object& callable) {
    return {new py::object(callable), [](py::object* p) {
                py::gil_scoped_acquire gil;
                delete p;
            }};
}

}  // namespace

py::str to_py_str(std::string_view text) {
    PyObject* s =
        PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "replace");
    if (s == nullptr) {
        throw py::error_already_set();
    }
    return py::reinterpret_steal<py::str>(s);
}

Logger python_logger() {
    const int level = py::module_::import("logging")
                          .attr("getLogger")(logger_name)
                          .attr("getEffectiveLevel")()
                          .cast<int>();
    return Logger(&log_to_python, from_python_level(level));
}

ProgressCallback progress_callback(const py::object& callable) {
    if (!callable.is_none() && !PyCallable_Check(callable.ptr())) {
        throw py::type_error("progress must be a callable taking a ProgressEvent, or None");
    }
    return PythonProgress{share(callable)};
}

py::object progress_callable(const ProgressCallback& callback) {
    if (const auto* p = callback.target<PythonProgress>(); p != nullptr && p->callable) {
        return *p->callable;
    }
    return py::none();
}

void ensure_signal_checks(ProgressCallback& callback) {
    if (!callback) {
        callback = PythonProgress{share(py::none())};
    }
}

void bind_progress(py::module_& m) {
    py::enum_<ProgressPhase>(m, "ProgressPhase", "Phase of a progress event.")
        .value("started", ProgressPhase::started)
        .value("advanced", ProgressPhase::advanced)
        .value("finished", ProgressPhase::finished);

    py::class_<ProgressEvent>(m, "ProgressEvent",
                              "One progress report: stage, phase, item, done/total.")
        .def(py::init<>())
        .def_readwrite("stage", &ProgressEvent::stage)
        .def_readwrite("phase", &ProgressEvent::phase)
        .def_readwrite("item", &ProgressEvent::item)
        .def_readwrite("done", &ProgressEvent::done)
        .def_readwrite("total", &ProgressEvent::total)
        .def_readwrite("unit", &ProgressEvent::unit)
        .def_readwrite("retries", &ProgressEvent::retries)
        .def("__repr__", [](const ProgressEvent& e) {
            std::string phase = e.phase == ProgressPhase::started    ? "started"
                                : e.phase == ProgressPhase::finished ? "finished"
                                                                     : "advanced";
            return "ProgressEvent(stage=" + std::string(py::repr(to_py_str(e.stage))) +
                   ", phase=" + phase + ", item=" + std::string(py::repr(to_py_str(e.item))) +
                   ", done=" + std::to_string(e.done) + ", total=" + std::to_string(e.total) +
                   ", unit=" + std::string(py::repr(to_py_str(e.unit))) + ")";
        });
}

}  // namespace mip::bindings
