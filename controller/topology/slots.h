// Hash-slot arithmetic shared by the parsers, the planner and the executor.
#pragma once

#include <bitset>
#include <string>
#include <vector>

#include "common/status.h"

namespace slotkeeper {

inline constexpr int kSlotCount = 16384;

// An inclusive range of hash slots, as CLUSTER NODES and ADDSLOTSRANGE express them.
struct SlotRange {
  int first = 0;
  int last = 0;
  int size() const { return last - first + 1; }
  bool operator==(const SlotRange&) const = default;
};

// A set of slots with cheap membership tests and conversion to and from ranges.
class SlotSet {
 public:
  SlotSet() = default;
  static SlotSet fromRanges(const std::vector<SlotRange>& ranges);
  static SlotSet all();

  void add(int slot) { bits_.set(static_cast<size_t>(slot)); }
  void addRange(SlotRange r);
  void remove(int slot) { bits_.reset(static_cast<size_t>(slot)); }
  bool contains(int slot) const { return bits_.test(static_cast<size_t>(slot)); }
  int count() const { return static_cast<int>(bits_.count()); }
  bool empty() const { return bits_.none(); }

  SlotSet operator|(const SlotSet& o) const { return SlotSet(bits_ | o.bits_); }
  SlotSet operator&(const SlotSet& o) const { return SlotSet(bits_ & o.bits_); }
  SlotSet operator-(const SlotSet& o) const { return SlotSet(bits_ & ~o.bits_); }
  bool operator==(const SlotSet& o) const { return bits_ == o.bits_; }

  // Maximal contiguous ranges in ascending order.
  std::vector<SlotRange> ranges() const;
  // All member slots in ascending order.
  std::vector<int> slots() const;
  // "0-5460,5462" (empty string for the empty set).
  std::string toString() const;

 private:
  explicit SlotSet(std::bitset<kSlotCount> bits) : bits_(bits) {}
  std::bitset<kSlotCount> bits_;
};

// Parses "0-5460,5462,6000-6001"; rejects out-of-range or reversed ranges.
Result<SlotSet> parseSlotList(const std::string& text);

}  // namespace slotkeeper
