#include "topology/slots.h"

#include <sstream>

namespace slotkeeper {

SlotSet SlotSet::fromRanges(const std::vector<SlotRange>& ranges) {
  SlotSet set;
  for (const auto& r : ranges) set.addRange(r);
  return set;
}

SlotSet SlotSet::all() { return fromRanges({{0, kSlotCount - 1}}); }

void SlotSet::addRange(SlotRange r) {
  for (int s = r.first; s <= r.last; ++s) add(s);
}

std::vector<SlotRange> SlotSet::ranges() const {
  std::vector<SlotRange> out;
  int start = -1;
  for (int s = 0; s <= kSlotCount; ++s) {
    bool in = s < kSlotCount && contains(s);
    if (in && start < 0) start = s;
    if (!in && start >= 0) {
      out.push_back({start, s - 1});
      start = -1;
    }
  }
  return out;
}

std::vector<int> SlotSet::slots() const {
  std::vector<int> out;
  out.reserve(static_cast<size_t>(count()));
  for (int s = 0; s < kSlotCount; ++s) {
    if (contains(s)) out.push_back(s);
  }
  return out;
}

std::string SlotSet::toString() const {
  std::string out;
  for (const auto& r : ranges()) {
    if (!out.empty()) out += ",";
    out += std::to_string(r.first);
    if (r.last != r.first) {
      // Appended piecewise: `"-" + std::to_string(...)` builds a temporary that GCC 12 at -O3
      // flags with a false -Wrestrict (overlapping memcpy in the inlined string insert).
      out += '-';
      out += std::to_string(r.last);
    }
  }
  return out;
}

namespace {

Result<int> parseSlotNumber(const std::string& text) {
  if (text.empty() || text.size() > 5) return invalidArgument("bad slot number '" + text + "'");
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return invalidArgument("bad slot number '" + text + "'");
    value = value * 10 + (c - '0');
  }
  if (value >= kSlotCount) return invalidArgument("slot " + text + " is out of range 0-16383");
  return value;
}

}  // namespace

Result<SlotSet> parseSlotList(const std::string& text) {
  SlotSet set;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    auto dash = item.find('-');
    ASSIGN_OR_RETURN(int first, parseSlotNumber(item.substr(0, dash)));
    int last = first;
    if (dash != std::string::npos) {
      ASSIGN_OR_RETURN(last, parseSlotNumber(item.substr(dash + 1)));
    }
    if (last < first) return invalidArgument("reversed slot range '" + item + "'");
    set.addRange({first, last});
  }
  return set;
}

}  // namespace slotkeeper
