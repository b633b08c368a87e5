// Slot-distribution math: the even split, the targets that minimise moved slots, and a greedy
// transfer planner that moves exactly the surplus while keeping ranges contiguous.
#include "topology/rebalance.h"

#include <algorithm>
#include <cstddef>
#include <map>
#include <numeric>
#include <optional>
#include <tuple>
#include <utility>

#include "topology/plan.h"

namespace slotkeeper::topology {

std::vector<int> evenSlotCounts(int masters) {
  if (masters <= 0) return {};
  std::vector<int> counts(static_cast<size_t>(masters), kSlotCount / masters);
  for (int i = 0; i < kSlotCount % masters; ++i) ++counts[static_cast<size_t>(i)];
  return counts;
}

std::vector<int> evenTargets(const std::vector<int>& counts) {
  const std::vector<int> shares = evenSlotCounts(static_cast<int>(counts.size()));
  if (shares.empty()) return {};
  const int larger_share = shares.front();
  std::vector<size_t> order(counts.size());
  std::iota(order.begin(), order.end(), 0);
  // The larger shares go to the larger holders: giving one to a master below the small share
  // would make some other master give a slot more. A master holding exactly the larger share
  // comes first, so it stays put instead of giving one slot and adding a move step. Stable, so
  // equal holders keep index order.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const bool a_exact = counts[a] == larger_share;
    const bool b_exact = counts[b] == larger_share;
    if (a_exact != b_exact) return a_exact;
    return counts[a] > counts[b];
  });
  std::vector<int> targets(counts.size());
  for (size_t rank = 0; rank < order.size(); ++rank) targets[order[rank]] = shares[rank];
  return targets;
}

namespace {

// Owner value for positions outside the slot space (the neighbours of slot 0 and slot 16383).
constexpr int kNoOwner = -2;

enum class End { kLow, kHigh };

// A pool slots are handed out from: one giving account, or the uncovered slots.
struct Source {
  int account = kUncovered;
  std::vector<SlotRange> ranges;  // its remaining slots as maximal runs, ascending
};

// One possible hand-out: `size` slots from one end of one range of a source, to one receiver.
struct Candidate {
  size_t source = 0;
  size_t range = 0;
  End end = End::kLow;
  int receiver = 0;
  int size = 0;
  bool adjacent = false;  // extends a range the receiver already holds
  bool leads_on = false;  // the receiver needs more, and the chunk borders a pool that can give it
  int receiver_count = 0;
};

// The order of preference between hand-outs. Contiguity first (adjacent, then big chunks, then
// chunks a later hand-out can extend), then the emptiest receiver, then low slots first so the
// result reads like the familiar `redis-cli --cluster create` layout; the rest only makes the
// choice deterministic. Uncovered slots go to the emptiest receiver before anything else: they
// are what a master that lost its slots (or a new cluster) is waiting for.
bool isBetter(const Candidate& a, const Candidate& b, bool emptiest_first) {
  if (emptiest_first && a.receiver_count != b.receiver_count) {
    return a.receiver_count < b.receiver_count;
  }
  if (a.adjacent != b.adjacent) return a.adjacent;
  if (a.size != b.size) return a.size > b.size;
  if (a.leads_on != b.leads_on) return a.leads_on;
  if (a.receiver_count != b.receiver_count) return a.receiver_count < b.receiver_count;
  if (a.end != b.end) return a.end == End::kLow;
  return std::tie(a.source, a.range, a.receiver) < std::tie(b.source, b.range, b.receiver);
}

SlotRange chunkOf(const SlotRange& range, End end, int size) {
  if (end == End::kLow) return {range.first, range.first + size - 1};
  return {range.last - size + 1, range.last};
}

// The running state of a redistribution: who owns each slot, who still needs or can give how
// many, and what has been handed out so far.
class Ledger {
 public:
  Ledger(const std::vector<SlotAccount>& accounts, const SlotSet& uncovered)
      : owner_(kSlotCount, kUncovered),
        need_(accounts.size(), 0),
        surplus_(accounts.size(), 0),
        count_(accounts.size(), 0),
        uncovered_left_(uncovered.count()) {
    for (size_t i = 0; i < accounts.size(); ++i) {
      for (int slot : accounts[i].slots.slots())
        owner_[static_cast<size_t>(slot)] = static_cast<int>(i);
      count_[i] = accounts[i].slots.count();
      need_[i] = std::max(0, accounts[i].target - count_[i]);
      surplus_[i] = std::max(0, count_[i] - accounts[i].target);
    }
  }

  // Hands out everything the given pools can give, one best chunk at a time.
  void distribute(std::vector<Source> sources, bool emptiest_first) {
    sources_ = std::move(sources);
    emptiest_first_ = emptiest_first;
    while (auto best = bestCandidate()) take(*best);
  }

  bool balanced() const {
    auto is_zero = [](int v) { return v == 0; };
    return uncovered_left_ == 0 && std::all_of(need_.begin(), need_.end(), is_zero) &&
           std::all_of(surplus_.begin(), surplus_.end(), is_zero);
  }

  std::vector<SlotTransfer> transfers() const {
    std::vector<SlotTransfer> out;
    for (const auto& [pair, slots] : moved_) out.push_back({pair.first, pair.second, slots});
    return out;
  }

 private:
  int ownerAt(int slot) const {
    if (slot < 0 || slot >= kSlotCount) return kNoOwner;
    return owner_[static_cast<size_t>(slot)];
  }

  // How many slots `owner` (an account or the uncovered pool) may still hand out.
  int giveable(int owner) const {
    if (owner == kNoOwner) return 0;
    if (owner == kUncovered) return uncovered_left_;
    return surplus_[static_cast<size_t>(owner)];
  }

  // Whether `owner` can still give once `taken` slots have left `taking_from`.
  bool givesAfter(int owner, int taking_from, int taken) const {
    int left = giveable(owner);
    if (owner == taking_from) left -= taken;
    return left > 0;
  }

  Candidate evaluate(size_t source, size_t range_index, End end, int receiver) const {
    const Source& pool = sources_[source];
    const SlotRange& range = pool.ranges[range_index];
    const size_t r = static_cast<size_t>(receiver);
    Candidate c;
    c.source = source;
    c.range = range_index;
    c.end = end;
    c.receiver = receiver;
    c.size = std::min({giveable(pool.account), need_[r], range.size()});
    c.receiver_count = count_[r];
    const SlotRange chunk = chunkOf(range, end, c.size);
    // `outer` lies beyond the source's range, `inner` just past the chunk on the source's side.
    const int outer = end == End::kLow ? range.first - 1 : range.last + 1;
    const int inner = end == End::kLow ? chunk.last + 1 : chunk.first - 1;
    c.adjacent = ownerAt(outer) == receiver;
    c.leads_on = need_[r] > c.size && (givesAfter(ownerAt(outer), pool.account, c.size) ||
                                       givesAfter(ownerAt(inner), pool.account, c.size));
    return c;
  }

  std::optional<Candidate> bestCandidate() const {
    std::optional<Candidate> best;
    for (size_t s = 0; s < sources_.size(); ++s) {
      if (giveable(sources_[s].account) == 0) continue;
      for (size_t g = 0; g < sources_[s].ranges.size(); ++g) {
        for (End end : {End::kLow, End::kHigh}) {
          for (size_t r = 0; r < need_.size(); ++r) {
            if (need_[r] == 0) continue;
            Candidate c = evaluate(s, g, end, static_cast<int>(r));
            if (!best || isBetter(c, *best, emptiest_first_)) best = c;
          }
        }
      }
    }
    return best;
  }

  void take(const Candidate& c) {
    Source& pool = sources_[c.source];
    SlotRange& range = pool.ranges[c.range];
    const SlotRange chunk = chunkOf(range, c.end, c.size);
    for (int slot = chunk.first; slot <= chunk.last; ++slot) {
      owner_[static_cast<size_t>(slot)] = c.receiver;
    }
    moved_[{pool.account, c.receiver}].addRange(chunk);
    if (pool.account == kUncovered) {
      uncovered_left_ -= c.size;
    } else {
      surplus_[static_cast<size_t>(pool.account)] -= c.size;
    }
    need_[static_cast<size_t>(c.receiver)] -= c.size;
    count_[static_cast<size_t>(c.receiver)] += c.size;
    if (c.end == End::kLow) {
      range.first += c.size;
    } else {
      range.last -= c.size;
    }
    if (range.first > range.last)
      pool.ranges.erase(pool.ranges.begin() + static_cast<std::ptrdiff_t>(c.range));
  }

  std::vector<int> owner_;  // account index, or kUncovered
  std::vector<int> need_;
  std::vector<int> surplus_;
  std::vector<int> count_;
  int uncovered_left_ = 0;
  std::vector<Source> sources_;
  bool emptiest_first_ = false;
  std::map<std::pair<int, int>, SlotSet> moved_;
};

// The caller's promise, checked: a broken one would make the greedy loop hand out slots twice or
// leave some unplaced.
Status checkAccounts(const std::vector<SlotAccount>& accounts, const SlotSet& uncovered) {
  SlotSet seen = uncovered;
  long targets = 0;
  for (size_t i = 0; i < accounts.size(); ++i) {
    const SlotSet overlap = seen & accounts[i].slots;
    if (!overlap.empty()) {
      return internalError("slot holder " + std::to_string(i) + " shares slots " +
                           overlap.toString() + " with another holder");
    }
    if (accounts[i].target < 0) return internalError("negative slot target");
    seen = seen | accounts[i].slots;
    targets += accounts[i].target;
  }
  if (seen.count() != kSlotCount) {
    return internalError("slots " + (SlotSet::all() - seen).toString() +
                         " are neither held nor uncovered");
  }
  if (targets != kSlotCount) {
    return internalError("slot targets add up to " + std::to_string(targets) + ", not " +
                         std::to_string(kSlotCount));
  }
  return Status::ok();
}

}  // namespace

Result<std::vector<SlotTransfer>> planSlotTransfers(const std::vector<SlotAccount>& accounts,
                                                    const SlotSet& uncovered) {
  RETURN_IF_ERROR(checkAccounts(accounts, uncovered));
  Ledger ledger(accounts, uncovered);
  // Uncovered slots first: assigning them costs nothing, and each lands on a master that needs
  // slots anyway, so the moves that follow are exactly the surpluses.
  ledger.distribute({Source{kUncovered, uncovered.ranges()}}, /*emptiest_first=*/true);
  std::vector<Source> givers;
  for (size_t i = 0; i < accounts.size(); ++i) {
    if (accounts[i].slots.count() > accounts[i].target) {
      givers.push_back({static_cast<int>(i), accounts[i].slots.ranges()});
    }
  }
  ledger.distribute(std::move(givers), /*emptiest_first=*/false);
  if (!ledger.balanced()) return internalError("slot redistribution did not balance");
  return ledger.transfers();
}

}  // namespace slotkeeper::topology
