// Hands out one fresh loopback address per pod from a CIDR inside 127.0.0.0/8. An address is
// never handed out twice while the agent's state dir lives (the cursor is persisted), and an
// address some other process already has a socket on is skipped, so agents of parallel test
// runs sharing a range do not collide.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"

namespace slotkeeper::agent {

// "127.20.0.5" <-> host-order integer.
Result<uint32_t> parseIpv4(std::string_view text);
std::string formatIpv4(uint32_t address);

struct Cidr {
  uint32_t base = 0;  // network address, host order
  int prefix = 0;
  uint64_t size() const { return uint64_t{1} << (32 - prefix); }
};
// Only ranges inside 127.0.0.0/8 are accepted: pods must stay on loopback, out of reach of
// anything outside the machine.
Result<Cidr> parseLoopbackCidr(std::string_view text);

// True when a TCP socket (listening or connected) uses `address` as its local address,
// per /proc/net/tcp.
bool addressHasSockets(uint32_t address);

class PodIpAllocator {
 public:
  using InUseCheck = std::function<bool(uint32_t address)>;

  // `state_file` keeps the cursor across agent restarts ("" = in memory only).
  PodIpAllocator(Cidr range, std::string state_file, InUseCheck in_use = addressHasSockets);

  // The next address never handed out before; kFailedPrecondition when the range is used up.
  Result<std::string> allocate();
  // Marks an address as taken (a pod adopted after an agent restart keeps its IP).
  void reserve(std::string_view address);
  // Whether some process has a socket on `address` (it cannot be adopted then).
  bool inUse(std::string_view address) const;

 private:
  void persist();
  std::string rangeText() const;

  Cidr range_;
  std::string state_file_;
  InUseCheck in_use_;
  std::mutex mu_;
  uint64_t cursor_ = 0;  // next offset inside the range to try
};

}  // namespace slotkeeper::agent
