// A raw HTTP/1.1 client over a plain socket for tests of the fake API server itself, so those
// tests do not go through (and cannot agree with a bug in) the operator's client library.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kubecnn::testing {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;                            // de-chunked
  nlohmann::json Json() const { return nlohmann::json::parse(body); }
};

// One request on a fresh connection ("Connection: close"). Throws std::runtime_error on I/O failure.
RawResponse RawRequest(int port, const std::string& method, const std::string& target, const std::string& body = "",
                       const std::map<std::string, std::string>& headers = {});

// A streaming response (a watch): read one line (one event) at a time as the chunks arrive.
class RawStream {
 public:
  RawStream(int port, const std::string& target);
  ~RawStream();
  RawStream(const RawStream&) = delete;
  RawStream& operator=(const RawStream&) = delete;

  int status() const { return status_; }
  // The next line without its "\n"; false on timeout or when the stream has ended.
  bool NextLine(std::string* line, std::chrono::milliseconds timeout);
  // The next event as JSON; throws std::runtime_error on timeout/end naming what was awaited.
  nlohmann::json NextEvent(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  bool ended() const { return ended_; }
  bool ended_cleanly() const { return clean_end_; }  // terminating zero chunk seen

 private:
  bool Fill(std::chrono::steady_clock::time_point deadline);
  bool DecodeChunks();
  int fd_ = -1;
  int status_ = 0;
  std::string raw_;    // bytes not yet de-chunked
  std::string lines_;  // de-chunked bytes not yet returned
  bool ended_ = false;
  bool clean_end_ = false;
};

}  // namespace kubecnn::testing
