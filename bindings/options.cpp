#include "options.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace mip::bindings {

PythonDefaults default_python_recipe_options() {
    PythonDefaults options;
    const auto executable = py::module_::import("sys").attr("executable");
    if (!executable.is_none() && !py::str(executable).cast<std::string>().empty()) {
        options.python = py::str(executable).cast<std::string>();
    }
    const py::object os_path = py::module_::import("os.path");
    std::vector<std::string> dirs;
    auto add = [&](const py::object& dir) {
        const auto text = py::str(dir).cast<std::string>();
        if (!text.empty() && std::find(dirs.begin(), dirs.end(), text) == dirs.end()) {
            dirs.push_back(text);
        }
    };
    const py::object self = py::module_::import("mip_native");
    if (py::hasattr(self, "__file__")) {
        add(os_path.attr("dirname")(os_path.attr("abspath")(self.attr("__file__"))));
    }
    const py::object spec =
        py::module_::import("importlib.util").attr("find_spec")("mip_build_helpers");
    if (!spec.is_none() && !spec.attr("origin").is_none()) {
        add(os_path.attr("dirname")(
            os_path.attr("dirname")(os_path.attr("abspath")(spec.attr("origin")))));
    }
    const auto sep = py::str(py::module_::import("os").attr("pathsep")).cast<std::string>();
    for (const auto& d : dirs) {
        options.python_path += (options.python_path.empty() ? std::string() : sep) + d;
    }
    return options;
}

std::chrono::milliseconds interval_from_python(const py::object& value) {
    double seconds = 0;
    if (py::isinstance(value, py::module_::import("datetime").attr("timedelta"))) {
        seconds = value.attr("total_seconds")().cast<double>();
    } else if (py::isinstance<py::int_>(value) || py::isinstance<py::float_>(value)) {
        seconds = value.cast<double>();
    } else {
        throw py::type_error("an interval is a number of seconds or a datetime.timedelta");
    }
    if (!(seconds >= 0) || seconds > 86400.0) {
        throw py::value_error("an interval must be between 0 and 86400 seconds");
    }
    return std::chrono::milliseconds(std::llround(seconds * 1000.0));
}

bool has_field(const py::handle& target, const std::string& name) {
    if (name.empty() || name[0] == '_') {
        return false;
    }
    const py::object property = py::module_::import("builtins").attr("property");
    return py::isinstance(py::getattr(py::type::of(target), name.c_str(), py::none()), property);
}

void set_field(const py::object& target,
               const std::string& name,
               const py::handle& value,
               const std::string& owner) {
    try {
        py::setattr(target, name.c_str(), value);
    } catch (py::error_already_set& e) {
        if (!e.matches(PyExc_TypeError)) {
            throw;
        }
        throw py::type_error(
            owner + ": invalid value for '" + name + "': " + py::repr(value).cast<std::string>() +
            " (" + py::str(py::type::of(value).attr("__name__")).cast<std::string>() + ")");
    }
}

void set_fields_from_kwargs(py::object& target, const py::kwargs& kwargs) {
    const std::string type_name =
        py::str(py::type::of(target).attr("__name__")).cast<std::string>();
    set_fields_across({target}, kwargs, type_name);
}

void set_fields_across(const std::vector<py::object>& targets,
                       const py::kwargs& kwargs,
                       const std::string& owner) {
    for (auto item : kwargs) {
        const std::string name = item.first.cast<std::string>();
        auto it = std::find_if(targets.begin(), targets.end(),
                               [&](const py::object& t) { return has_field(t, name); });
        if (it == targets.end()) {
            std::string message = owner;
            message += ": unknown option '" + name + "'";
            throw py::type_error(message);
        }
        set_field(*it, name, item.second, owner);
    }
}

}  // namespace mip::bindings
