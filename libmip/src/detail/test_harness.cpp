// The generated test harness (test_harness.hpp).

#include "detail/test_harness.hpp"

#include <sstream>

#include "detail/fs.hpp"
#include "detail/test_install.hpp"

namespace mip::detail {

namespace fs = std::filesystem;

namespace {

std::string trim(const std::string& s) {
    const auto a = s.find_first_not_of(" \t\r");
    if (a == std::string::npos) {
        return "";
    }
    return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

/// A MATLAB statement printing `what` and the caught error's message to stderr, then exit(1).
std::string catch_block(const std::string& what) {
    return "catch mip_test_err__\n"
           "  fprintf(2, '%serror: %s: %s\\n', " +
           matlab_quote(harness_prefix) + ", " + matlab_quote(what) +
           ", mip_test_err__.message);\n"
           "  exit(1);\n"
           "end\n";
}

std::string one_line(const std::string& text) {
    std::string out;
    for (char c : trim(text)) {
        out += (c == '\n' || c == '\r') ? ' ' : c;
    }
    return out.size() > 60 ? out.substr(0, 57) + "..." : out;
}

}  // namespace

std::string strip_mip_commands(const std::string& snippet) {
    std::istringstream in(snippet);
    std::string line;
    std::string out;
    while (std::getline(in, line)) {
        const std::string t = trim(line);
        if (t.rfind("mip load", 0) == 0 || t.rfind("mip install", 0) == 0 ||
            t.rfind("mip('load'", 0) == 0) {
            out += "% (done by the harness) " + t + "\n";
        } else {
            out += line + "\n";
        }
    }
    return out;
}

std::string write_harness(const TestPlan& plan, const fs::path& dir) {
    std::string m = "% mip-build test harness (generated)\n";
    auto say = [&](const std::string& text) {
        m += "fprintf('%s%s\\n', " + matlab_quote(harness_prefix) + ", " + matlab_quote(text) +
             ");\n";
    };
    say("loading " + plan.package);
    m += "try\n";
    for (const auto& load : plan.loads) {
        m += "  " + load + "\n";
    }
    m += catch_block("loading " + plan.package);
    std::string what = "load only";
    if (!plan.test_script.empty()) {
        what = "test_script " + plan.test_script_name;
        say("running " + what);
        m += "try\n  run(" + matlab_quote(plan.test_script) + ");\n" +
             catch_block(plan.test_script_name);
    } else if (!plan.examples.empty()) {
        what = std::to_string(plan.examples.size()) + " usage example" +
               (plan.examples.size() == 1 ? "" : "s");
        for (std::size_t i = 0; i < plan.examples.size(); ++i) {
            const std::string label =
                "usage_examples[" + std::to_string(i) + "] (" + one_line(plan.examples[i]) + ")";
            const fs::path file = dir / ("mip_example_" + std::to_string(i + 1) + ".m");
            write_file_atomic(file, strip_mip_commands(plan.examples[i]), false);
            say("running " + label);
            m += "try\n  run(" + matlab_quote(file.string()) + ");\n" + catch_block(label);
        }
    }
    say("passed");
    m += "exit(0);\n";
    write_file_atomic(dir / "mip_test_harness.m", m, false);
    return what;
}

std::string first_error_line(const std::string& output) {
    const std::string marker = std::string(harness_prefix) + "error: ";
    std::istringstream in(output);
    std::string line;
    std::string fallback;
    while (std::getline(in, line)) {
        if (line.rfind(marker, 0) == 0) {
            return line.substr(std::string(harness_prefix).size());
        }
        if (fallback.empty() && (line.rfind("error:", 0) == 0 || line.rfind("Error", 0) == 0)) {
            fallback = line;
        }
    }
    return fallback;
}

}  // namespace mip::detail
