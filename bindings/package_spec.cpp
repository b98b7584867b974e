// PackageSpec, WheelName, the name checks and the cache comparison (package_spec.hpp), and
// Shard (shard.hpp).

#include <string>
#include <vector>

#include <mip/package_spec.hpp>
#include <mip/shard.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"
#include "options.hpp"

namespace mip::bindings {

namespace {

py::list issues_to_list(const std::vector<Issue>& issues) {
    py::list out;
    for (const auto& i : issues) {
        out.append(py::make_tuple(to_py_str(i.field), to_py_str(i.message)));
    }
    return out;
}

py::object json_module() { return py::module_::import("json"); }

/// A compact-JSON field (`source`, `build_info`) as a Python value; None when absent.
py::object json_field(const std::string& text) {
    if (text.empty()) {
        return py::none();
    }
    return json_module().attr("loads")(to_py_str(text));
}

std::string json_text(const py::object& value) {
    if (value.is_none()) {
        return "";
    }
    return json_module()
        .attr("dumps")(value, py::arg("ensure_ascii") = false,
                       py::arg("separators") = py::make_tuple(",", ":"))
        .cast<std::string>();
}

PackageSpec spec_from_dict(const py::dict& d, const std::string& origin, bool check) {
    const std::string text =
        json_module().attr("dumps")(d, py::arg("ensure_ascii") = false).cast<std::string>();
    py::gil_scoped_release release;
    return check ? PackageSpec::from_json(text, origin)
                 : PackageSpec::from_json_unchecked(text, origin);
}

}  // namespace

namespace {

void bind_wheel_name(py::module_& m) {
    py::class_<WheelName>(m, "WheelName",
                          "`<name>-<version>-<matlab_tag>-<abi_tag>-<platform_tag>`.")
        .def(py::init([](std::string name, std::string version, std::string matlab_tag,
                         std::string abi_tag, std::string platform_tag) {
                 return WheelName{std::move(name), std::move(version), std::move(matlab_tag),
                                  std::move(abi_tag), std::move(platform_tag)};
             }),
             py::arg("name") = "", py::arg("version") = "", py::arg("matlab_tag") = "any",
             py::arg("abi_tag") = "none", py::arg("platform_tag") = "any")
        .def_readwrite("name", &WheelName::name)
        .def_readwrite("version", &WheelName::version)
        .def_readwrite("matlab_tag", &WheelName::matlab_tag)
        .def_readwrite("abi_tag", &WheelName::abi_tag)
        .def_readwrite("platform_tag", &WheelName::platform_tag)
        .def("str", &WheelName::str, "The five parts joined with '-'.")
        .def("__str__", &WheelName::str)
        .def(
            "validate", [](const WheelName& w) { return issues_to_list(w.validate()); },
            "Every problem as (field, message); empty when valid.")
        .def_static("parse", &WheelName::parse, py::arg("text"),
                    "Parses a wheel name (optionally with .dir/.work/.mhl/.mhl.mip.json), "
                    "splitting at the last four '-'. Raises SpecError.")
        .def(py::self == py::self)  // NOLINT(misc-redundant-expression)
        .def("__hash__", [](const WheelName& w) { return py::hash(py::str(w.str())); })
        .def("__repr__", [](const WheelName& w) {
            return "WheelName(" + std::string(py::repr(to_py_str(w.str()))) + ")";
        });

    m.def(
        "strip_wheel_suffix",
        [](const std::string& n) { return std::string(strip_wheel_suffix(n)); },
        py::arg("file_name"), "Strips .mhl.mip.json, .mhl, .dir or .work if present.");
    m.def("normalize_package_name", &normalize_package_name, py::arg("name"),
          "Lower-cased, '-' replaced by '_' (how clients compare names).");
    m.def("check_package_name", &check_package_name, py::arg("name"),
          "'' when valid, else the reason.");
    m.def("check_version", &check_version, py::arg("version"), "'' when valid, else the reason.");
    m.def("check_tag", &check_tag, py::arg("tag"), "'' when valid, else the reason.");
    m.def("cached_field_names", &cached_field_names,
          "The fields the cache check compares, in order.");

    py::class_<CacheComparison>(m, "CacheComparison", "Result of compare_cached_fields().")
        .def_readonly("equal", &CacheComparison::equal)
        .def_readonly("first_difference", &CacheComparison::first_difference)
        .def("__bool__", [](const CacheComparison& c) { return c.equal; })
        .def("__repr__", [](const CacheComparison& c) {
            return std::string("CacheComparison(equal=") + (c.equal ? "True" : "False") +
                   ", first_difference=" + std::string(py::repr(to_py_str(c.first_difference))) +
                   ")";
        });
}

void bind_spec_class(py::module_& m) {
    py::class_<PackageSpec>(m, "PackageSpec",
                            "One package's metadata: mip.json, its sidecar or an index entry.")
        .def(py::init([](const py::kwargs& kwargs) {
                 py::object target = py::cast(PackageSpec{});
                 set_fields_from_kwargs(target, kwargs);
                 return target.cast<PackageSpec>();
             }),
             "Keyword arguments name the fields; omitted fields keep their defaults.")
        .def_readwrite("name", &PackageSpec::name)
        .def_readwrite("description", &PackageSpec::description)
        .def_readwrite("version", &PackageSpec::version)
        .def_readwrite("build_number", &PackageSpec::build_number)
        .def_readwrite("dependencies", &PackageSpec::dependencies)
        .def_readwrite("homepage", &PackageSpec::homepage)
        .def_readwrite("repository", &PackageSpec::repository)
        .def_readwrite("license", &PackageSpec::license)
        .def_readwrite("matlab_tag", &PackageSpec::matlab_tag)
        .def_readwrite("abi_tag", &PackageSpec::abi_tag)
        .def_readwrite("platform_tag", &PackageSpec::platform_tag)
        .def_readwrite("usage_examples", &PackageSpec::usage_examples)
        .def_readwrite("exposed_symbols", &PackageSpec::exposed_symbols)
        .def_readwrite("compile_script", &PackageSpec::compile_script)
        .def_readwrite("timestamp", &PackageSpec::timestamp)
        .def_readwrite("prepare_duration", &PackageSpec::prepare_duration)
        .def_readwrite("compile_duration", &PackageSpec::compile_duration)
        .def_readwrite("mhl_url", &PackageSpec::mhl_url)
        .def_readwrite("mhl_sha256", &PackageSpec::mhl_sha256)
        .def_readwrite("mhl_size", &PackageSpec::mhl_size)
        .def_readwrite("mip_json_url", &PackageSpec::mip_json_url)
        .def_readwrite("source_json", &PackageSpec::source_json,
                       "`source` as compact JSON text ('' = absent).")
        .def_property(
            "build_info_json", [](const PackageSpec& s) { return s.build_info.to_json(); },
            [](PackageSpec& s, const std::string& v) { s.build_info = BuildInfo::from_json(v); },
            "`build_info` as compact JSON text ('' = absent; else a JSON object).")
        .def_readwrite("extra_fields", &PackageSpec::extra_fields,
                       "Unknown keys in read order, as (key, compact JSON text) pairs.")
        .def_property(
            "source", [](const PackageSpec& s) { return json_field(s.source_json); },
            [](PackageSpec& s, const py::object& v) { s.source_json = json_text(v); },
            "`source` as a dict (None when absent).")
        .def_property(
            "build_info", [](const PackageSpec& s) { return json_field(s.build_info.to_json()); },
            [](PackageSpec& s, const py::object& v) {
                s.build_info = BuildInfo::from_json(json_text(v));
            },
            "`build_info` as a dict (None when absent).")
        .def("wheel", &PackageSpec::wheel, "The WheelName built from the fields.")
        .def_property_readonly("wheel_name", &PackageSpec::wheel_name)
        .def(
            "validate", [](const PackageSpec& s) { return issues_to_list(s.validate()); },
            "Every problem as (field, message); empty when valid.")
        .def_static(
            "from_json",
            [](const std::string& text, const std::string& origin, bool check) {
                py::gil_scoped_release release;
                return check ? PackageSpec::from_json(text, origin)
                             : PackageSpec::from_json_unchecked(text, origin);
            },
            py::arg("text"), py::arg("origin") = "mip.json", py::arg("validate") = true,
            "Parses mip.json text. Raises SpecError listing every problem (type errors always; "
            "validate() issues unless validate=False).")
        .def_static(
            "load",
            [](const std::filesystem::path& path) {
                py::gil_scoped_release release;
                return PackageSpec::load(path.string());
            },
            py::arg("path"), "Reads and parses a mip.json file (IoError if unreadable).")
        .def("to_json", &PackageSpec::to_json,
             "mip.json text: 2-space indent, '\\n', final newline, fields in table order.")
        .def_static(
            "from_dict",
            [](const py::dict& d, const std::string& origin, bool check) {
                return spec_from_dict(d, origin, check);
            },
            py::arg("data"), py::arg("origin") = "dict", py::arg("validate") = true,
            "Builds a spec from a dict shaped like mip.json. Raises SpecError.")
        .def(
            "to_dict",
            [](const PackageSpec& s) {
                return json_module().attr("loads")(to_py_str(s.to_json()));
            },
            "mip.json as a dict (key order kept).")
        .def(py::self == py::self)  // NOLINT(misc-redundant-expression)
        .def(py::self != py::self)  // NOLINT(misc-redundant-expression)
        .def("__copy__", [](const PackageSpec& s) { return s; })
        .def(
            "__deepcopy__", [](const PackageSpec& s, const py::dict&) { return s; },
            py::arg("memo"))
        .def("__repr__", [](const PackageSpec& s) {
            return "PackageSpec(name=" + std::string(py::repr(to_py_str(s.name))) +
                   ", version=" + std::string(py::repr(to_py_str(s.version))) +
                   ", build_number=" + std::to_string(s.build_number) +
                   ", platform_tag=" + std::string(py::repr(to_py_str(s.platform_tag))) + ")";
        });
    // PackageSpec has a defaulted == but no hash: mutable, like a dict.
    py::type::of<PackageSpec>().attr("__hash__") = py::none();
}

void bind_shard(py::module_& m) {
    py::class_<Shard>(m, "Shard", "`--shard K/N`: the packages this CI job takes.")
        .def(py::init(&Shard::parse), py::arg("text"), "Parses 'K/N'. Raises SpecError.")
        .def(py::init([](unsigned index, unsigned count) {
                 return Shard{index, count};
             }),
             py::arg("index"), py::arg("count"))
        .def_readonly("index", &Shard::index)
        .def_readonly("count", &Shard::count)
        .def_static("parse", &Shard::parse, py::arg("text"))
        .def("contains", &Shard::contains, py::arg("package_name"))
        .def(py::self == py::self)  // NOLINT(misc-redundant-expression)
        .def("__repr__", [](const Shard& s) {
            return "Shard('" + std::to_string(s.index) + "/" + std::to_string(s.count) + "')";
        });
    py::implicitly_convertible<py::str, Shard>();
}

}  // namespace

void bind_package_spec(py::module_& m) {
    bind_wheel_name(m);
    bind_spec_class(m);
    m.def("compare_cached_fields", &compare_cached_fields, py::arg("local"), py::arg("published"),
          "Compares the cached fields (missing = null = '' = [] = {}); equal means 'skip'.");
    bind_shard(m);
}

}  // namespace mip::bindings
