// The channel page (channel_page.hpp): packages.html, feed.json and feed.xml from index.json text.

#include <string>

#include <mip/channel_page.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"
#include "options.hpp"

namespace mip::bindings {

namespace {

std::string optional_index(const std::optional<std::size_t>& i) {
    return i ? std::to_string(*i) : std::string("None");
}

}  // namespace

void bind_channel_page(py::module_& m) {
    py::enum_<IndexFormat>(m, "IndexFormat", "Format of an index document.")
        .value("automatic", IndexFormat::automatic, "detect it from the document")
        .value("r2", IndexFormat::r2, "R2-era entries with platform_tag (mip-format.md)")
        .value("current", IndexFormat::current,
               "current mip entries with architecture (mip-current.md)");

    py::class_<ChannelPageOptions> options(m, "ChannelPageOptions",
                                           "Options of render_channel_site and friends.");
    options
        .def_readwrite("format", &ChannelPageOptions::format,
                       "IndexFormat.automatic detects the format; r2/current force it.")
        .def_readwrite("channel_name", &ChannelPageOptions::channel_name,
                       "Page title ('' = from github_repo or the https store URL).")
        .def_readwrite("site_url", &ChannelPageOptions::site_url,
                       "https:// URL the page is served from, for the feeds' links ('' = from "
                       "github_repo, else relative links).")
        .def_readwrite("feed_entries", &ChannelPageOptions::feed_entries,
                       "How many of the newest builds the feeds list.");
    add_kwargs_init(options);

    py::class_<PlatformChoice>(m, "PlatformChoice", "What the client installs on one platform.")
        .def_readonly("platform", &PlatformChoice::platform)
        .def_readonly("entry", &PlatformChoice::entry,
                      "Position of the chosen build in the document's packages (None: nothing).")
        .def_readonly("version", &PlatformChoice::version)
        .def_readonly("build", &PlatformChoice::build, "The chosen build's platform tag.")
        .def(py::self == py::self)  // NOLINT(misc-redundant-expression)
        .def("__repr__", [](const PlatformChoice& c) {
            return "PlatformChoice(platform=" + std::string(py::repr(to_py_str(c.platform))) +
                   ", entry=" + optional_index(c.entry) +
                   ", version=" + std::string(py::repr(to_py_str(c.version))) + ")";
        });

    py::class_<ChannelPackage>(m, "ChannelPackage", "One package of the channel page.")
        .def_readonly("name", &ChannelPackage::name)
        .def_readonly("anchor", &ChannelPackage::anchor, "packages.html#<anchor>")
        .def_readonly("newest_version", &ChannelPackage::newest_version)
        .def_readonly("entries", &ChannelPackage::entries)
        .def_readonly("choices", &ChannelPackage::choices)
        .def_readonly("warnings", &ChannelPackage::warnings)
        .def_readonly("used_by", &ChannelPackage::used_by)
        .def("__repr__", [](const ChannelPackage& p) {
            return "ChannelPackage(name=" + std::string(py::repr(to_py_str(p.name))) +
                   ", newest_version=" + std::string(py::repr(to_py_str(p.newest_version))) +
                   ", builds=" + std::to_string(p.entries.size()) + ")";
        });

    py::class_<ChannelSummary>(m, "ChannelSummary", "The client's view of a channel.")
        .def_readonly("format", &ChannelSummary::format)
        .def_readonly("channel_name", &ChannelSummary::channel_name)
        .def_readonly("platforms", &ChannelSummary::platforms)
        .def_readonly("packages", &ChannelSummary::packages)
        .def_readonly("builds", &ChannelSummary::builds)
        .def("__repr__", [](const ChannelSummary& s) {
            return "ChannelSummary(channel_name=" +
                   std::string(py::repr(to_py_str(s.channel_name))) +
                   ", format=" + std::string(to_string(s.format)) +
                   ", packages=" + std::to_string(s.packages.size()) + ")";
        });

    py::class_<ChannelSite>(m, "ChannelSite", "packages.html, feed.json and feed.xml.")
        .def_readonly("packages_html", &ChannelSite::packages_html)
        .def_readonly("feed_json", &ChannelSite::feed_json, "JSON Feed 1.1")
        .def_readonly("feed_xml", &ChannelSite::feed_xml, "Atom")
        .def_readonly("summary", &ChannelSite::summary)
        .def("__repr__", [](const ChannelSite& s) {
            return "<ChannelSite " + std::string(py::repr(to_py_str(s.summary.channel_name))) +
                   ": " + std::to_string(s.packages_html.size()) + " bytes of HTML>";
        });

    m.def(
        "detect_index_format",
        [](const std::string& index_json) { return detect_index_format(index_json); },
        py::arg("index_json"),
        "IndexFormat of an index.json text. Raises SpecError for text that is not an index "
        "document or mixes formats.");
    m.def(
        "summarize_channel",
        [](const std::string& index_json, const py::object& base, const py::kwargs& kwargs) {
            auto o = make_options<ChannelPageOptions>(base, kwargs);
            py::gil_scoped_release release;
            return summarize_channel(index_json, o);
        },
        py::arg("index_json"), py::arg("options") = py::none(),
        "summarize_channel(index_json, options=None, **kwargs): each package's choice per "
        "platform, as its format's client computes it. Raises SpecError naming entry and field.");
    m.def(
        "render_channel_site",
        [](const std::string& index_json, const py::object& base, const py::kwargs& kwargs) {
            auto o = make_options<ChannelPageOptions>(base, kwargs);
            py::gil_scoped_release release;
            return render_channel_site(index_json, o);
        },
        py::arg("index_json"), py::arg("options") = py::none(),
        "render_channel_site(index_json, options=None, **kwargs) -> ChannelSite. "
        "Byte-reproducible. Raises SpecError naming entry and field.");
    m.def(
        "write_channel_site",
        [](const std::string& index_json, const std::filesystem::path& output_dir,
           const py::object& base, const py::kwargs& kwargs) {
            auto o = make_options<ChannelPageOptions>(base, kwargs);
            py::gil_scoped_release release;
            write_channel_site(index_json, output_dir, o);
        },
        py::arg("index_json"), py::arg("output_dir"), py::arg("options") = py::none(),
        "Writes index.json, packages.html, feed.json and feed.xml into output_dir together or "
        "not at all. Raises IoError naming the file (nothing replaced) or SpecError (nothing "
        "written).");
}

}  // namespace mip::bindings
