// Loopback pod address allocation.
#include "ip_allocator.h"

#include <arpa/inet.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace slotkeeper::agent {

Result<uint32_t> parseIpv4(std::string_view text) {
  uint32_t out = 0;
  size_t pos = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (pos >= text.size() || text[pos] != '.') return invalidArgument("bad IPv4 address");
      ++pos;
    }
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), value);
    if (ec != std::errc() || value > 255) {
      return invalidArgument("bad IPv4 address \"" + std::string(text) + "\"");
    }
    pos = ptr - text.data();
    out = (out << 8) | value;
  }
  if (pos != text.size()) return invalidArgument("bad IPv4 address \"" + std::string(text) + "\"");
  return out;
}

std::string formatIpv4(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

Result<Cidr> parseLoopbackCidr(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return invalidArgument("--pod-cidr: expected a.b.c.d/len, got \"" + std::string(text) + "\"");
  }
  ASSIGN_OR_RETURN(uint32_t base, parseIpv4(text.substr(0, slash)));
  int prefix = 0;
  std::string_view len = text.substr(slash + 1);
  auto [ptr, ec] = std::from_chars(len.data(), len.data() + len.size(), prefix);
  if (ec != std::errc() || ptr != len.data() + len.size() || prefix < 8 || prefix > 30) {
    return invalidArgument("--pod-cidr: prefix length must be 8..30");
  }
  if ((base >> 24) != 127) return invalidArgument("--pod-cidr must lie inside 127.0.0.0/8");
  const uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return Cidr{base & mask, prefix};
}

bool addressHasSockets(uint32_t address) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    // "   0: 0100007F:1F90 00000000:0000 0A ..." — the local address is the second field,
    // the in-memory (network order) u32 printed as hex.
    std::istringstream fields(line);
    std::string slot, local;
    fields >> slot >> local;
    const size_t colon = local.find(':');
    if (colon != 8) continue;
    uint32_t raw = 0;
    auto [ptr, ec] = std::from_chars(local.data(), local.data() + 8, raw, 16);
    if (ec != std::errc()) continue;
    if (ntohl(raw) == address) return true;
  }
  return false;
}

PodIpAllocator::PodIpAllocator(Cidr range, std::string state_file, InUseCheck in_use)
    : range_(range), state_file_(std::move(state_file)), in_use_(std::move(in_use)) {
  if (state_file_.empty()) return;
  // The cursor belongs to one range: after a --pod-cidr change it starts over.
  std::ifstream in(state_file_);
  std::string saved_range;
  uint64_t saved = 0;
  if (in >> saved_range >> saved && saved_range == rangeText()) cursor_ = saved;
}

std::string PodIpAllocator::rangeText() const {
  return formatIpv4(range_.base) + "/" + std::to_string(range_.prefix);
}

Result<std::string> PodIpAllocator::allocate() {
  std::lock_guard lock(mu_);
  while (cursor_ < range_.size()) {
    const uint32_t address = range_.base + static_cast<uint32_t>(cursor_++);
    const uint32_t last = address & 255;
    // .0 and .255 are legal on lo but read like network/broadcast addresses in logs.
    if (last == 0 || last == 255) continue;
    if (in_use_ && in_use_(address)) continue;
    persist();
    return formatIpv4(address);
  }
  return failedPrecondition("pod address range " + rangeText() + " is exhausted");
}

void PodIpAllocator::reserve(std::string_view address) {
  auto parsed = parseIpv4(address);
  if (!parsed.isOk()) return;
  std::lock_guard lock(mu_);
  if (*parsed < range_.base || *parsed - range_.base >= range_.size()) return;
  const uint64_t offset = *parsed - range_.base;
  if (offset >= cursor_) {
    cursor_ = offset + 1;
    persist();
  }
}

bool PodIpAllocator::inUse(std::string_view address) const {
  auto parsed = parseIpv4(address);
  return parsed.isOk() && in_use_ && in_use_(*parsed);
}

void PodIpAllocator::persist() {
  if (state_file_.empty()) return;
  // Write-then-rename so a crash never leaves a truncated cursor (which would reuse addresses).
  const std::string tmp = state_file_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << rangeText() << " " << cursor_ << "\n";
  }
  std::rename(tmp.c_str(), state_file_.c_str());
}

}  // namespace slotkeeper::agent
