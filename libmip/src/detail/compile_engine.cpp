// Compile engine discovery (compiler.hpp: `find_compile_engine`, `CompileEngine`): which
// MATLAB or GNU Octave runs the compile scripts, found on PATH, and its version, read without
// starting MATLAB (VersionInfo.xml) or with `octave-cli --version`.

#include <chrono>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <pugixml.hpp>

#include <mip/compiler.hpp>
#include <mip/error.hpp>

#include "detail/env.hpp"
#include "detail/process.hpp"
#include "detail/text.hpp"

namespace mip {

namespace fs = std::filesystem;
using detail::Environment;

namespace {

constexpr std::chrono::seconds version_probe_timeout{10};

/// A MATLAB single-quoted string body: `'` doubled.
std::string matlab_quote(const std::string& text) {
    std::string out;
    out.reserve(text.size() + 2);
    for (char c : text) {
        out += c;
        if (c == '\'') {
            out += '\'';
        }
    }
    return out;
}

std::vector<std::string> split_path_list(const std::string& value) {
    std::vector<std::string> dirs;
    std::string dir;
    std::istringstream in(value);
    while (std::getline(in, dir, ':')) {
        dirs.push_back(dir.empty() ? "." : dir);
    }
    return dirs;
}

bool is_executable_file(const fs::path& path) {
    std::error_code ec;
    auto st = fs::status(path, ec);
    if (ec || !fs::is_regular_file(st)) {
        return false;
    }
    constexpr auto any_exec =
        fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec;
    return (st.permissions() & any_exec) != fs::perms::none;
}

/// `<release>` of MATLAB's VersionInfo.xml, looked up from the `matlab` executable
/// (`<root>/bin/matlab` or `<root>/bin/<arch>/MATLAB`); "" when absent.
std::string matlab_release(const fs::path& executable) {
    std::error_code ec;
    fs::path exe = fs::canonical(executable, ec);
    if (ec) {
        exe = executable;
    }
    fs::path dir = exe.parent_path();
    for (int up = 0; up < 3 && !dir.empty(); ++up) {
        dir = dir.parent_path();
        const fs::path info = dir / "VersionInfo.xml";
        if (!fs::is_regular_file(info, ec)) {
            continue;
        }
        pugi::xml_document doc;
        if (!doc.load_file(info.c_str())) {
            return {};
        }
        std::string release =
            doc.child("MathWorks_version_info").child("release").text().as_string();
        return std::string(detail::trim(release));
    }
    return {};
}

/// "7.3.0" from `octave-cli --version` ("GNU Octave, version 7.3.0"); "" on failure.
std::string octave_version(const fs::path& executable, const Environment& environment) {
    detail::ProcessOptions probe;
    probe.argv = {executable.string(), "--version"};
    for (const char* name : {"PATH", "HOME"}) {
        if (auto value = detail::env_find(environment, name)) {
            probe.env[name] = *value;
        }
    }
    probe.env["TZ"] = "UTC";
    probe.timeout = version_probe_timeout;
    probe.capture_limit = 1 << 16;
    try {
        auto result = detail::run_process(probe);
        if (!result.ok()) {
            return {};
        }
        const std::string_view marker = "version ";
        auto pos = result.output.find(marker);
        if (pos == std::string::npos) {
            return {};
        }
        pos += marker.size();
        auto end = result.output.find_first_of(" \t\r\n", pos);
        return result.output.substr(pos, end == std::string::npos ? end : end - pos);
    } catch (const Error&) {
        return {};
    }
}

}  // namespace

const char* to_string(EngineKind kind) noexcept {
    return kind == EngineKind::matlab ? "matlab" : "octave";
}

std::string CompileEngine::description() const {
    return version.empty() ? std::string(to_string(kind))
                           : std::string(to_string(kind)) + " " + version;
}

std::vector<std::string> CompileEngine::command(const fs::path& dir,
                                                const std::string& script_stem) const {
    const std::string statement = "cd('" + matlab_quote(dir.string()) + "'); " + script_stem;
    if (kind == EngineKind::matlab) {
        return {executable.string(), "-batch", statement};
    }
    return {executable.string(), "--norc", "--no-history", "--eval", statement};
}

CompileEngine find_compile_engine(const std::string& engine,
                                  const Environment& environment,
                                  bool probe_version) {
    const std::string path_value = detail::env_get(environment, "PATH");
    CompileEngine found;
    std::vector<std::pair<std::string, EngineKind>> names;
    if (engine == "auto") {
        names = {{"matlab", EngineKind::matlab}, {"octave-cli", EngineKind::octave}};
    } else if (engine == "matlab") {
        names = {{"matlab", EngineKind::matlab}};
    } else if (engine == "octave") {
        names = {{"octave-cli", EngineKind::octave}};
    } else if (engine.empty()) {
        throw SpecError("compile engine: must be auto, matlab, octave or a path");
    } else {
        const fs::path path(engine);
        const std::string base = detail::ascii_lower(path.filename().string());
        if (base.rfind("matlab", 0) == 0) {
            found.kind = EngineKind::matlab;
        } else if (base.rfind("octave", 0) == 0) {
            found.kind = EngineKind::octave;
        } else {
            throw SpecError("compile engine: cannot tell whether '" + engine +
                            "' is MATLAB or GNU Octave: its name must start with 'matlab' or "
                            "'octave'");
        }
        std::optional<fs::path> exe;
        if (engine.find('/') == std::string::npos) {
            exe = detail::find_executable(engine, path_value);
        } else if (is_executable_file(path)) {
            exe = fs::absolute(path).lexically_normal();
        }
        if (!exe) {
            throw SpecError(
                "compile engine: '" + engine + "' is not an executable file" +
                (engine.find('/') == std::string::npos ? " on PATH (" + path_value + ")" : ""));
        }
        found.executable = fs::absolute(*exe);
    }
    if (found.executable.empty()) {
        for (const auto& [name, kind] : names) {
            if (auto exe = detail::find_executable(name, path_value)) {
                found.kind = kind;
                found.executable = fs::absolute(*exe);
                break;
            }
        }
    }
    if (found.executable.empty()) {
        std::string searched;
        for (const auto& entry : names) {
            searched += (searched.empty() ? "" : ", ") + entry.first;
        }
        std::string dirs;
        for (const auto& dir : split_path_list(path_value)) {
            dirs += (dirs.empty() ? "" : ", ") + dir;
        }
        throw SpecError("no compile engine found: searched for " + searched +
                        " in the PATH directories " +
                        (dirs.empty() ? std::string("(PATH is empty)") : dirs) +
                        "; install MATLAB or GNU Octave (octave-cli), or pass --engine PATH");
    }
    if (probe_version) {
        found.version = found.kind == EngineKind::matlab
                            ? matlab_release(found.executable)
                            : octave_version(found.executable, environment);
    }
    return found;
}

}  // namespace mip
