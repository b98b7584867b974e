#pragma once
// The S3 test servers of the C++ tests: tests/servers/s3_stack.py (moto_server behind the
// SigV4-verifying proxy) as a child process, started by each integration case. Header-only:
// test_r2_client.cpp and test_uploader.cpp use it.

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <curl/curl.h>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mip/r2_client.hpp>

#include "detail/process.hpp"

extern char** environ;  // NOLINT

namespace mip::test {

inline std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// tests/servers/s3_stack.py as a child process: reads its one JSON line, stops it by PID.
class S3Servers {
    using Json = nlohmann::json;
    using Path = std::filesystem::path;

public:
    explicit S3Servers(const Path& workdir) {
        const std::string script = std::string(MIP_SOURCE_DIR) + "/tests/servers/s3_stack.py";
        int in_pipe[2];
        int out_pipe[2];
        REQUIRE(::pipe2(in_pipe, O_CLOEXEC) == 0);
        REQUIRE(::pipe2(out_pipe, O_CLOEXEC) == 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
        posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
        std::vector<std::string> args{MIP_TEST_PYTHON, script, "--workdir", workdir.string()};
        std::vector<char*> argv;
        argv.reserve(args.size() + 1);
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        const int rc = posix_spawn(&pid_, args[0].c_str(), &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(in_pipe[0]);
        ::close(out_pipe[1]);
        stdin_fd_ = in_pipe[1];
        stdout_fd_ = out_pipe[0];
        REQUIRE(rc == 0);
        // Wait for the one line, however long a loaded machine takes to start moto: the launcher
        // prints it once the servers listen (or an error line); end of file means it died.
        std::string line;
        while (line.find('\n') == std::string::npos) {
            char buf[4096];
            const auto n = ::read(stdout_fd_, buf, sizeof buf);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            REQUIRE(n > 0);  // the launcher died before printing
            line.append(buf, static_cast<std::size_t>(n));
        }
        info = Json::parse(line.substr(0, line.find('\n')));
        if (info.contains("error")) {
            FAIL("S3 test servers did not start: " << info["error"].get<std::string>());
        }
    }
    ~S3Servers() {
        ::close(stdin_fd_);  // the launcher stops moto by PID and exits
        // Waits for it however long that takes: killing the launcher instead would leave its
        // moto_server running.
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        ::close(stdout_fd_);
    }
    S3Servers(const S3Servers&) = delete;
    S3Servers& operator=(const S3Servers&) = delete;
    S3Servers(S3Servers&&) = delete;
    S3Servers& operator=(S3Servers&&) = delete;

    [[nodiscard]] std::string endpoint() const { return info["endpoint"]; }

    [[nodiscard]] mip::R2Config config(const std::string& prefix) const {
        mip::R2Config c;
        c.endpoint = endpoint();
        c.bucket = info["bucket"];
        c.prefix = prefix;
        c.access_key_id = info["access_key_id"];
        c.secret_access_key = info["secret_access_key"];
        c.allow_insecure_loopback = true;
        c.backoff_base = std::chrono::milliseconds(1);
        c.backoff_cap = std::chrono::milliseconds(20);
        return c;
    }

    /// The proxy's log: one record per request it handled.
    [[nodiscard]] std::vector<Json> records() const {
        std::vector<Json> out;
        std::istringstream in(read_text(info["log"].get<std::string>()));
        std::string line;
        while (std::getline(in, line)) {
            if (!line.empty()) {
                out.push_back(Json::parse(line));
            }
        }
        return out;
    }

    void fault(const Json& faults) const { control("POST", faults.dump()); }
    void clear_faults() const { control("DELETE", ""); }

    /// The aws CLI through the proxy.
    [[nodiscard]] mip::detail::ProcessResult aws(const std::vector<std::string>& args) const {
        mip::detail::ProcessOptions o;
        o.argv = {info["aws"].get<std::string>(), "--endpoint-url", endpoint()};
        o.argv.insert(o.argv.end(), args.begin(), args.end());
        for (const auto& [k, v] : info["aws_env"].items()) {
            o.env[k] = v.get<std::string>();
        }
        o.timeout = std::chrono::seconds(300);
        o.separate_stderr = true;
        return mip::detail::run_process(o);
    }

private:
    void control(const char* method, const std::string& body) const {
        CURL* h = curl_easy_init();
        REQUIRE(h != nullptr);
        const std::string url = endpoint() + "/__proxy__/faults";
        curl_easy_setopt(h, CURLOPT_URL, url.c_str());
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
        const CURLcode rc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(h);
        REQUIRE(rc == CURLE_OK);
        REQUIRE(status == 204);
    }

    pid_t pid_ = -1;
    int stdin_fd_ = -1;
    int stdout_fd_ = -1;

public:
    Json info;
};

/// Every request the proxy saw passed its signature check (injected faults aside) and none
/// carried an Expect header (libcurl's Expect: 100-continue stalls 1 s against R2).
inline void require_clean_log(const S3Servers& servers) {
    for (const auto& r : servers.records()) {
        INFO(r.dump());
        CHECK((r["error"].is_null() || r.value("fault", false)));
        CHECK(r["expect"].is_null());
    }
}

}  // namespace mip::test
