// A self-contained copy of one Redis reply, independent of hiredis, so that pure code and
// fakes can produce and consume replies.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace slotkeeper::redis {

struct Reply {
  enum class Type { kNil, kStatus, kError, kInteger, kString, kArray };
  Type type = Type::kNil;
  std::string str;  // status text, error text or bulk string
  int64_t integer = 0;
  std::vector<Reply> elements;

  bool isError() const { return type == Type::kError; }
  // True for an error reply whose first word is `prefix` (e.g. "BUSYKEY", "MOVED").
  bool isErrorWithPrefix(const std::string& prefix) const {
    return isError() && str.compare(0, prefix.size(), prefix) == 0 &&
           (str.size() == prefix.size() || str[prefix.size()] == ' ');
  }
  static Reply status(std::string s) { return {Type::kStatus, std::move(s), 0, {}}; }
  static Reply error(std::string s) { return {Type::kError, std::move(s), 0, {}}; }
  static Reply integerReply(int64_t v) { return {Type::kInteger, {}, v, {}}; }
  static Reply string(std::string s) { return {Type::kString, std::move(s), 0, {}}; }
};

using Command = std::vector<std::string>;

}  // namespace slotkeeper::redis
