#pragma once
// Options structs as Python keyword arguments. Each options struct is bound as a class whose
// fields are properties; `make_options<T>(base, kwargs)` starts from `base` (an instance of the
// bound class, or None for the C++ defaults), sets each keyword through the property (so
// conversions and type errors are the bound ones) and rejects unknown names.

#include <chrono>
#include <string>

#include <mip/recipe.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"

namespace mip::bindings {

namespace py = pybind11;

/// Hook for binding-specific defaults (e.g. the recipe interpreter = sys.executable).
template <class Options>
void apply_binding_defaults(Options& /*options*/) {}

/// Recipe interpreter defaults for calls made from Python: this interpreter (`sys.executable`)
/// and a PYTHONPATH holding the directories of `mip_native` and `mip_build_helpers`, so the
/// worker imports the same modules as the caller.
[[nodiscard]] PythonRecipeOptions default_python_recipe_options();

/// Adds the flattened `python` / `python_path` properties for an options struct with a
/// `PythonRecipeOptions python` member.
template <class Options, class... Extra>
void add_python_recipe_fields(py::class_<Options, Extra...>& cls) {
    cls.def_property(
           "python", [](const Options& o) { return o.python.python; },
           [](Options& o, std::string v) { o.python.python = std::move(v); },
           "Interpreter for Python recipes (default: this interpreter).")
        .def_property(
            "python_path", [](const Options& o) { return o.python.python_path; },
            [](Options& o, std::string v) { o.python.python_path = std::move(v); },
            "Prepended to the recipe worker's PYTHONPATH (default: where mip_native and "
            "mip_build_helpers were imported from).");
}

/// Seconds (int, float or datetime.timedelta) as milliseconds; TypeError/ValueError otherwise.
[[nodiscard]] std::chrono::milliseconds interval_from_python(const py::object& value);

/// Adds the `progress` property (a callable taking a ProgressEvent, or None).
template <class Options, class... Extra>
void add_progress_field(py::class_<Options, Extra...>& cls) {
    cls.def_property(
        "progress", [](const Options& o) { return progress_callable(o.progress); },
        [](Options& o, const py::object& v) { o.progress = progress_callback(v); },
        "Called with each ProgressEvent on the calling thread, GIL held; raising from it "
        "cancels the call and the exception propagates unchanged.");
    cls.def_property(
        "progress_interval",
        [](const Options& o) { return std::chrono::duration<double>(o.progress_interval).count(); },
        [](Options& o, const py::object& v) { o.progress_interval = interval_from_python(v); },
        "At most one 'advanced' event per interval, in seconds (a number or a timedelta; "
        "0 = every event).");
}

/// Sets every keyword on `target` (a bound options instance). TypeError for unknown names or
/// values the property refuses.
void set_fields_from_kwargs(py::object& target, const py::kwargs& kwargs);

template <class Options>
Options make_options(const py::object& base, const py::kwargs& kwargs) {
    Options start;
    if (base.is_none()) {
        apply_binding_defaults(start);
    } else {
        start = base.cast<Options>();
    }
    if (kwargs.empty()) {
        return start;
    }
    py::object target = py::cast(std::move(start));
    set_fields_from_kwargs(target, kwargs);
    return target.cast<Options>();
}

/// Adds `__init__(**kwargs)`, `__repr__` (every property) and `_replace(**kwargs)` to an options
/// class.
template <class Options, class... Extra>
void add_kwargs_init(py::class_<Options, Extra...>& cls, bool with_repr = true) {
    cls.def(py::init(
                [](const py::kwargs& kwargs) { return make_options<Options>(py::none(), kwargs); }),
            "Keyword arguments name the fields; omitted fields keep the C++ defaults.");
    if (with_repr) {
        cls.def("__repr__", [](const py::object& self) {
            std::string out =
                py::str(py::type::of(self).attr("__name__")).cast<std::string>() + "(";
            bool first = true;
            for (auto item : py::type::of(self).attr("__dict__").cast<py::dict>()) {
                if (!py::isinstance(item.second,
                                    py::module_::import("builtins").attr("property"))) {
                    continue;
                }
                out += (first ? "" : ", ") + item.first.cast<std::string>() + "=" +
                       py::repr(self.attr(item.first)).cast<std::string>();
                first = false;
            }
            return out + ")";
        });
    }
    cls.def(
        "_replace",
        [](const py::object& self, const py::kwargs& kwargs) {
            return make_options<Options>(self, kwargs);
        },
        "A copy with the given fields replaced.");
}

}  // namespace mip::bindings
