#pragma once
// Options structs as Python keyword arguments. Each options struct is bound as a class whose
// fields are properties; `make_options<T>(base, kwargs)` starts from `base` (an instance of the
// bound class, or None for the C++ defaults), sets each keyword through the property (so
// conversions and type errors are the bound ones) and rejects unknown names.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <mip/run_options.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"

namespace mip::bindings {

namespace py = pybind11;

/// Hook for binding-specific defaults (e.g. the recipe interpreter = sys.executable).
template <class Options>
void apply_binding_defaults(Options& /*options*/) {}

/// Binds the field `field` of `Type` as the property of the same name: the Python spelling is
/// the C++ one (and, through cli/app.hpp's MIP_FIELD_OPTION, the CLI's).
#define MIP_PY_FIELD(cls, Type, field, doc) (cls).def_readwrite(#field, &Type::field, (doc))

/// Recipe interpreter defaults for calls made from Python: this interpreter (`sys.executable`)
/// and a PYTHONPATH holding the directories of `mip_native` and `mip_build_helpers`, so the
/// worker imports the same modules as the caller.
struct PythonDefaults {
    std::string python;
    std::string python_path;
};
[[nodiscard]] PythonDefaults default_python_recipe_options();

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

/// Whether `target`'s class has the property `name` (a bound field).
[[nodiscard]] bool has_field(const py::handle& target, const std::string& name);

/// Sets the property `name` of `target`; TypeError naming `owner` for a value it refuses.
void set_field(const py::object& target,
               const std::string& name,
               const py::handle& value,
               const std::string& owner);

/// Sets every keyword on `target` (a bound options instance). TypeError for unknown names or
/// values the property refuses.
void set_fields_from_kwargs(py::object& target, const py::kwargs& kwargs);

/// Sets each keyword on the first of `targets` whose class has it (a service's options, then the
/// shared RunOptions). TypeError naming `owner` for a name none has.
void set_fields_across(const std::vector<py::object>& targets,
                       const py::kwargs& kwargs,
                       const std::string& owner);

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

/// A service's options and the shared block from `Service(options=None, run=None, **fields)`:
/// each keyword names a field of `Options` or of `RunOptions`. The run's logger becomes the
/// Python logging bridge and its progress checks for Ctrl-C.
template <class Options>
// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): Python's keyword signature, dynamic types.
std::pair<Options, RunOptions> service_options(const py::object& options,
                                               const py::object& run,
                                               const py::kwargs& kwargs,
                                               const std::string& owner) {
    py::object o = py::cast(make_options<Options>(options, py::kwargs()));
    py::object r = py::cast(make_options<RunOptions>(run, py::kwargs()));
    set_fields_across({o, r}, kwargs, owner);
    auto out = std::make_pair(o.cast<Options>(), r.cast<RunOptions>());
    out.second.logger = python_logger();
    ensure_signal_checks(out.second.progress);
    return out;
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
