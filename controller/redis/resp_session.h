// What both Redis clients share: hiredis replies turned into Reply, SIGPIPE kept away from the
// process while a client writes, and the start of a session (AUTH, CLIENT SETNAME).
#pragma once

#include <signal.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "redis/node_client.h"

struct redisReply;

namespace slotkeeper::redis {

// hiredis writes with write(2), so a write to a connection the peer already closed raises
// SIGPIPE, whose default action kills the whole operator. Blocking it on this thread for the
// duration of the I/O (and swallowing one we caused) turns that into an EPIPE error instead,
// without changing the process-wide disposition behind the caller's back.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock();
  ~ScopedSigpipeBlock();
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_set_{};
  sigset_t old_mask_{};
  bool was_pending_ = false;
  bool blocked_ = false;
};

struct ReplyDeleter {
  void operator()(void* reply) const;
};
using ReplyPtr = std::unique_ptr<void, ReplyDeleter>;

Result<Reply> convertReply(const redisReply& raw);

// Refuses a pipeline holding an empty command, before anything is sent, so a bad batch never
// leaves a connection half-used.
Status checkPipeline(const std::string& address, const std::vector<Command>& commands);

// A command's arguments as hiredis takes them: pointers and lengths, binary-safe (keys and DUMP
// payloads hold NULs). Valid while the command lives.
struct ArgvView {
  explicit ArgvView(const Command& command);
  int argc() const { return static_cast<int>(argv.size()); }
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
};

// Sends the commands on the connection and reads one reply for each.
using RoundTrip = std::function<Result<std::vector<Reply>>(const std::vector<Command>&)>;

// On a fresh connection: AUTH with options.password, then with the fallback if the first is
// refused (kUnauthenticated when every one is), and CLIENT SETNAME when a name is set. The
// caller drops the connection on an error, so the next call starts over.
Status startSession(const std::string& address, const ConnectOptions& options,
                    const RoundTrip& round_trip);

}  // namespace slotkeeper::redis
