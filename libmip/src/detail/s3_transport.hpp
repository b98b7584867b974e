#pragma once
// The HTTP layer of the R2 client: one libcurl multi handle, connection reuse across requests
// and across calls, bodies streamed from memory or from a file range (pread, rewindable), and
// response bodies to memory or to a file descriptor. Runs on the calling thread only: the owner
// calls start() and poll(); nothing here spawns threads or prints.

#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mip::detail::s3 {

struct TransportOptions {
    std::size_t max_connections = 32;
    std::string ca_file;  ///< "" = system default; TLS verification is always on
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds stall_timeout{60000};  ///< abort after this long below 1 B/s
    std::chrono::milliseconds request_timeout{0};    ///< 0 = no overall limit
    bool no_proxy = false;                           ///< bypass proxy environment (loopback)
};

/// One HTTP attempt. The owner keeps it alive until poll() hands it back.
struct Exchange {
    // Request.
    std::string method = "GET";  ///< GET HEAD PUT POST DELETE
    std::string url;
    std::vector<std::string> header_lines;  ///< "Name: value" (Host, Authorization, Expect:, ...)
    const std::string* body_memory = nullptr;  ///< body bytes (PUT/POST), or...
    int body_fd = -1;                          ///< ...a file range [body_offset, +body_length)
    std::uint64_t body_offset = 0;
    std::uint64_t body_length = 0;
    bool has_body = false;  ///< PUT/POST: send a body (possibly empty) with Content-Length
    int sink_fd = -1;       ///< 2xx bodies go here when >= 0, else to `response_body`
    bool fresh_connection = false;
    std::chrono::milliseconds timeout{0};  ///< this attempt's limit (0 = request_timeout's)
    void* owner = nullptr;                 ///< for the caller

    // Response.
    long status = 0;
    int curl_code = 0;
    std::string curl_error;
    std::map<std::string, std::string> response_headers;  ///< lower-case names
    std::string response_body;  ///< error bodies always land here (capped at 1 MiB)
    std::uint64_t sunk_bytes = 0;
    std::exception_ptr callback_error;  ///< a failed write to `sink_fd`
    std::chrono::steady_clock::time_point started;
    std::chrono::steady_clock::duration elapsed{};

    // Transfer state (transport-owned).
    std::uint64_t read_position = 0;
};

class Transport {
public:
    explicit Transport(const TransportOptions& options);
    ~Transport();
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;
    Transport(Transport&&) = delete;
    Transport& operator=(Transport&&) = delete;

    /// Starts `exchange` (non-blocking). Throws mip::Error(internal) if curl refuses the setup.
    void start(Exchange& exchange);

    /// Drives transfers for up to `timeout` and returns the exchanges that finished.
    [[nodiscard]] std::vector<Exchange*> poll(std::chrono::milliseconds timeout);

    [[nodiscard]] std::size_t in_flight() const noexcept;

    /// Cancels every running exchange (they are not returned by poll()).
    void cancel_all() noexcept;

    /// Cancels one running exchange (it is not returned by poll()).
    void cancel(Exchange& exchange) noexcept;

    /// Makes a `poll` waiting on another thread return at once (thread-safe).
    void wakeup() noexcept;

    /// Changes how many connections may be open at once.
    void set_max_connections(std::size_t n);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mip::detail::s3
