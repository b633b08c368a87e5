// The hash slot of a key, as Redis Cluster computes it: CRC16 (XMODEM) of the key, or of the
// hash tag between the first '{' and the next '}' when that tag is not empty, modulo 16384.
#pragma once

#include <cstdint>
#include <string_view>

namespace slotkeeper::redis {

uint16_t crc16Xmodem(std::string_view data);
int keyHashSlot(std::string_view key);

}  // namespace slotkeeper::redis
