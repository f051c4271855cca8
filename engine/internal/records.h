// The engine's internal records: the public Request / Technician / Zone
// values wrapped with the derived fields and index keys the matcher needs
// (zone and technician indices, packed skill sets, queue keys, timers).
// Everything here is derived from applied events, so a replay rebuilds it.
//
// Thread safety: plain values; owned by the engine thread.
#ifndef DISPATCHD_ENGINE_INTERNAL_RECORDS_H_
#define DISPATCHD_ENGINE_INTERNAL_RECORDS_H_

#include <array>
#include <bit>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/time/time.h"
#include "base/gradual_table.h"
#include "engine/internal/skills.h"
#include "engine/internal/strings.h"
#include "engine/model.h"

namespace dispatchd::engine::internal {

inline constexpr uint32_t kNoTech = std::numeric_limits<uint32_t>::max();

// One of 16 bits for a technician id (a hash of it): a request keeps the
// OR of its decliners' bits (ReqRec::declined_bits), so a technician whose
// bit is clear there did not decline it, without comparing ids.
inline uint16_t DeclineBit(std::string_view technician_id) {
  uint32_t h = 2166136261u;  // FNV-1a.
  for (char c : technician_id) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return static_cast<uint16_t>(1u << ((h ^ (h >> 16)) & 15));
}

// Dispatch order inside a queue: most urgent effective class first, then
// jobs an emergency displaced, then key departments, then earliest SLA
// deadline, then lowest request number.
struct QueueKey {
  uint8_t rank = 0;  // kEmergency 0 .. kLow 3.
  uint8_t tier = 0;  // 0: displaced by an emergency, 1: key department, 2: other.
  absl::Time deadline;
  uint32_t number = 0;
  // Not part of the order: the request's declined_bits (0: nobody declined
  // it). A pulling technician whose DeclineBit is clear here did not
  // decline it; only otherwise does pull read the record's declined_by.
  uint16_t declined_bits = 0;

  friend bool operator<(const QueueKey& a, const QueueKey& b) {
    return std::tie(a.rank, a.tier, a.deadline, a.number) <
           std::tie(b.rank, b.tier, b.deadline, b.number);
  }
  friend bool operator==(const QueueKey& a, const QueueKey& b) {
    return a.number == b.number && a.rank == b.rank && a.tier == b.tier &&
           a.deadline == b.deadline;
  }
};

// Order in which jobs waiting for stock are served: most urgent first, then
// key departments, then oldest (lowest request number).
struct StockWaitKey {
  uint8_t rank = 0;
  uint8_t tier = 0;
  uint32_t number = 0;

  friend bool operator<(const StockWaitKey& a, const StockWaitKey& b) {
    return std::tie(a.rank, a.tier, a.number) < std::tie(b.rank, b.tier, b.number);
  }
  friend bool operator==(const StockWaitKey& a, const StockWaitKey& b) {
    return a.number == b.number && a.rank == b.rank && a.tier == b.tier;
  }
};

inline uint8_t RankOf(Urgency u) {
  return static_cast<uint8_t>(kUrgencyCount - static_cast<int>(u));
}

using Queue = absl::btree_set<QueueKey>;

// One requirement queue of a zone: the queued requests needing exactly
// `need` (mask and levels) in dispatch order, with the first key copied
// inline (what Pull reads first) and the zone's cached earliest local free
// time for `need` (what Pull's cross-zone wait test reads), also for the
// last job someone declined that the test looked at.
struct alignas(64) NeedQueue {
  // The head, the mask and the levels of skills 0..31 on the first cache
  // line: what a pull scan reads of a queue it may take from.
  QueueKey head;  // == *queue.begin(); a listed queue is never empty.
  SkillSet need;
  Queue queue;
  // Derived caches (Engine::State::LocalFree, EarliestLocalFree): the
  // earliest free_at of an adequate on-shift member of the zone
  // (InfiniteFuture: none), valid while free_version equals the zone's
  // OnShiftStamp(need.mask()); the same without those who declined request
  // `declined_number` (`declined_count` of them: declined_by only grows),
  // valid while declined_version equals it too.
  mutable uint64_t free_version = ~uint64_t{0};
  mutable absl::Time free_min;
  mutable uint64_t declined_version = ~uint64_t{0};
  mutable absl::Time declined_min;
  mutable uint32_t declined_number = 0;
  mutable uint32_t declined_count = 0;
};

// A zone's queued requests, one NeedQueue per distinct requirement, kept
// dense and in no order, with the requirement masks side by side: a
// pulling technician scans the masks (one contiguous array; a zone holds a
// few dozen requirements) and reads a queue's entry only if it covers the
// mask, and its btree only if the inline head does not settle it. Every
// other reader sorts what it collects.
class ZoneQueues {
 public:
  size_t size() const { return queues_.size(); }
  bool empty() const { return queues_.empty(); }
  const uint64_t* masks() const { return masks_.data(); }
  const NeedQueue& operator[](size_t i) const { return queues_[i]; }
  std::vector<NeedQueue>::const_iterator begin() const { return queues_.begin(); }
  std::vector<NeedQueue>::const_iterator end() const { return queues_.end(); }

  // Adds `key` to the queue of `need` (made if absent).
  void Insert(const SkillSet& need, const QueueKey& key) {
    auto [at, added] = pos_.try_emplace(need, static_cast<uint32_t>(queues_.size()));
    if (added) {
      masks_.push_back(need.mask());
      queues_.emplace_back();
      queues_.back().need = need;
    }
    NeedQueue& q = queues_[at->second];
    q.queue.insert(key);
    q.head = *q.queue.begin();
  }
  // Removes `key` from the queue of `need`, dropping the queue once empty.
  // REQUIRES: `key` is queued there (equal by its order).
  void Erase(const SkillSet& need, const QueueKey& key) {
    auto at = pos_.find(need);
    const uint32_t i = at->second;
    NeedQueue& q = queues_[i];
    q.queue.erase(key);
    if (!q.queue.empty()) {
      q.head = *q.queue.begin();
      return;
    }
    pos_.erase(at);
    if (i + 1 != queues_.size()) {
      queues_[i] = std::move(queues_.back());
      masks_[i] = masks_.back();
      pos_[queues_[i].need] = i;
    }
    queues_.pop_back();
    masks_.pop_back();
  }

 private:
  std::vector<uint64_t> masks_;       // masks_[i] == queues_[i].need.mask()
  std::vector<NeedQueue> queues_;
  absl::flat_hash_map<SkillSet, uint32_t> pos_;  // Position in queues_.
};

enum class TimerKind : uint8_t {
  kOfferExpiry = 0,  // An offer lapses (OfferExpired).
  kWindowOpen = 1,   // A scheduled request enters dispatch.
  kReevaluate = 2,   // Re-run dispatch for a request waiting on a local tech.
};

struct TimerKey {
  absl::Time at;
  TimerKind kind = TimerKind::kOfferExpiry;
  uint32_t number = 0;  // Request number.

  friend bool operator<(const TimerKey& a, const TimerKey& b) {
    return std::tie(a.at, a.kind, a.number) < std::tie(b.at, b.kind, b.number);
  }
  friend bool operator==(const TimerKey& a, const TimerKey& b) {
    return a.at == b.at && a.kind == b.kind && a.number == b.number;
  }
};

// The timers of requests, ordered by TimerKey, in two sets: scheduled
// windows (many, filed days ahead, rarely touched) apart from offer
// expiries and re-evaluations (few, churning with every offer), so the
// busy set stays small and in cache. first() is the earlier of the two
// sets' firsts, so the order is that of one set.
class TimerSet {
 public:
  bool empty() const { return hot_.empty() && windows_.empty(); }
  // REQUIRES: !empty().
  const TimerKey& first() const {
    if (windows_.empty()) return *hot_.begin();
    if (hot_.empty()) return *windows_.begin();
    return *windows_.begin() < *hot_.begin() ? *windows_.begin() : *hot_.begin();
  }
  void insert(const TimerKey& key) { SetOf(key.kind).insert(key); }
  void erase(const TimerKey& key) { SetOf(key.kind).erase(key); }

 private:
  absl::btree_set<TimerKey>& SetOf(TimerKind kind) {
    return kind == TimerKind::kWindowOpen ? windows_ : hot_;
  }

  absl::btree_set<TimerKey> hot_;      // Offer expiries and re-evaluations.
  absl::btree_set<TimerKey> windows_;  // Scheduled windows opening.
};

struct ReqRec {
  Request pub;
  uint32_t number = 0;  // R-000042 -> 42.
  uint32_t zone = 0;    // Zone index of pub.spec.zone_id.
  SkillSet need;        // Packed pub.spec.required_skills.
  uint32_t tech = kNoTech;  // Index of pub.technician_id.
  Urgency submitted_urgency = Urgency::kNormal;  // For idempotent retries.
  // DeclineBit of every id in pub.declined_by, OR-ed (kept by
  // IndexRequest): a technician whose bit is clear did not decline it, so
  // most Declined tests compare no strings. (Fills padding: no bytes.)
  uint16_t declined_bits = 0;
  // Aging counts from here: window start, or the last promotion/change.
  absl::Time aging_base;
  // Live-only re-evaluation timer (a wait for a local technician); not
  // derived from events, re-established by the post-replay sweep.
  std::optional<absl::Time> reevaluate_at;

  uint8_t Tier() const {
    return pub.preemptions > 0 ? 0 : pub.spec.key_department ? 1 : 2;
  }
  QueueKey Key() const {
    return {RankOf(pub.effective_urgency), Tier(), pub.sla_deadline, number, declined_bits};
  }
  StockWaitKey WaitKey() const {
    return {RankOf(pub.effective_urgency),
            static_cast<uint8_t>(pub.spec.key_department ? 0 : 1), number};
  }
};

// The idempotency index: the numbers of requests that carry a key, each
// beside 32 bits of its key's hash, compared through the key in the
// request's own record (looked up by the key as a string_view), so the
// index holds no copy of any key: 8 bytes a request instead of a 32-byte
// string. Records live in a std::deque that only grows at the back, so a
// number always reaches its record; a number goes in only after its record
// (with its key) exists, and a record's key never changes. It grows a
// little with each insert (base::GradualTable): rehashing it in one step
// read every record's key, a pause of 0.2 s at 460,000 keys and 0.65 s at
// 920,000 on the development VM. The hash is kept beside the number so
// that moving an entry to the grown table (four per insert while it
// drains) reads no record: only a lookup whose hash matches one does.
//
// Loading an image adds entries in bulk instead (Add, then Build): a
// random insert into a table of millions of entries misses the cache
// (17 % of a start from a snapshot of 2 M requests), while inserts in
// the order of the slots they land in fill the table from end to end.
class IdempotencyIndex {
 public:
  explicit IdempotencyIndex(const std::deque<ReqRec>* records)
      : records_(records), set_(Set(0, Hash{}, Eq{records})) {}
  IdempotencyIndex(const IdempotencyIndex&) = delete;
  IdempotencyIndex& operator=(const IdempotencyIndex&) = delete;

  // The number of the request filed with `key`, if any.
  std::optional<uint32_t> Find(std::string_view key) const {
    const uint64_t* entry = set_.Find(key);
    if (entry == nullptr) return std::nullopt;
    return static_cast<uint32_t>(*entry);
  }
  bool Contains(std::string_view key) const { return set_.Find(key) != nullptr; }
  // REQUIRES: request `number` exists, with a non-empty key not yet in.
  void Insert(uint32_t number, std::string_view key) { set_.Insert(EntryOf(number, key)); }

  // Bulk load: Add keeps request `number`'s entry aside (Find and Contains
  // do not see it yet); Build inserts all of them. REQUIRES: as Insert,
  // and nothing inserted before Build.
  void Add(uint32_t number, std::string_view key) { added_.push_back(EntryOf(number, key)); }
  // Inserts what Add kept, unless two of those requests carry the same
  // key: then nothing, and the number of the later request of the
  // earliest such pair (the one a load in number order would refuse).
  std::optional<uint32_t> Build();

 private:
  static uint32_t HashOf(std::string_view key) {
    return static_cast<uint32_t>(absl::HashOf(key));
  }
  static uint64_t EntryOf(uint32_t number, std::string_view key) {
    return uint64_t{HashOf(key)} << 32 | number;
  }
  // An entry: the key's hash in the high 32 bits, the number in the low.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return HashOf(key); }
    size_t operator()(uint64_t entry) const { return entry >> 32; }
  };
  struct Eq {
    using is_transparent = void;
    const std::deque<ReqRec>* records;
    bool operator()(uint64_t a, uint64_t b) const { return a == b; }
    bool operator()(uint64_t a, std::string_view b) const { return KeyOf(records, a) == b; }
    bool operator()(std::string_view a, uint64_t b) const { return a == KeyOf(records, b); }
  };
  static std::string_view KeyOf(const std::deque<ReqRec>* records, uint64_t entry) {
    return (*records)[static_cast<uint32_t>(entry) - 1].pub.spec.idempotency_key;
  }

  using Set = absl::flat_hash_set<uint64_t, Hash, Eq>;
  const std::deque<ReqRec>* records_;
  base::GradualTable<Set> set_;
  std::vector<uint64_t> added_;  // Entries kept aside by Add until Build.
};

struct TechRec {
  Technician pub;
  uint32_t index = 0;
  uint32_t home = 0;     // Zone index of pub.home_zone_id.
  uint32_t current = 0;  // Zone index of pub.current_zone_id.
  SkillSet skills;
  uint32_t job = 0;  // Request number offered/assigned/worked; 0: none.
  uint16_t decline_bit = 0;  // DeclineBit(pub.technician_id), set by IndexTech.
  absl::Time available_since;  // When they last became available.
  absl::Time busy_since;       // When the current job was offered/taken/started.
  // When the current job should be done (busy_since + its estimated
  // minutes); InfinitePast without a job. Derived by IndexTech, so the
  // wait rule reads it instead of the job's record.
  absl::Time free_at = absl::InfinitePast();
  // Position in zones_[home].on_shift and, if current != home, in
  // zones_[current].on_shift; kNoTech while off shift.
  std::array<uint32_t, 2> on_shift_pos{kNoTech, kNoTech};
  // Position in zones_[current].available_list while available, else kNoTech.
  uint32_t available_pos = kNoTech;
  // Utilisation: closed periods on shift / working, and when the open one
  // began (valid while on shift / working).
  absl::Duration shift_total;
  absl::Duration work_total;
  absl::Time shift_since;
  absl::Time work_since;
};

// Technicians by id: the indices of their records in a hash set whose hash
// and equality read the id in the record, looked up by std::string_view.
// An entry is 4 bytes instead of a copy of the id (a 32-byte string) and
// the index, so the table of 10,000 technicians stays in cache; a found
// entry's id comparison reads the record, which the caller reads next.
class TechIdIndex {
 public:
  explicit TechIdIndex(const std::deque<TechRec>* records) : set_(0, Hash{records}, Eq{records}) {}
  TechIdIndex(const TechIdIndex&) = delete;
  TechIdIndex& operator=(const TechIdIndex&) = delete;

  std::optional<uint32_t> Find(std::string_view id) const {
    auto it = set_.find(id);
    if (it == set_.end()) return std::nullopt;
    return *it;
  }
  // REQUIRES: technician `index` exists, and no other has its id.
  void Insert(uint32_t index) { set_.insert(index); }
  void Reserve(size_t n) { set_.reserve(n); }

 private:
  static std::string_view IdOf(const std::deque<TechRec>* records, uint32_t index) {
    return (*records)[index].pub.technician_id;
  }
  struct Hash {
    using is_transparent = void;
    const std::deque<TechRec>* records;
    size_t operator()(std::string_view id) const { return absl::HashOf(id); }
    size_t operator()(uint32_t index) const { return absl::HashOf(IdOf(records, index)); }
  };
  struct Eq {
    using is_transparent = void;
    const std::deque<TechRec>* records;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t a, std::string_view b) const { return IdOf(records, a) == b; }
    bool operator()(std::string_view a, uint32_t b) const { return a == IdOf(records, b); }
  };
  absl::flat_hash_set<uint32_t, Hash, Eq> set_;
};

// An on-shift member of a zone (home or located there), as the wait rule
// (EarliestLocalFree) reads it: a dense copy of what it needs.
struct OnShiftMember {
  uint32_t tech = 0;
  uint16_t decline_bit = 0;  // TechRec::decline_bit.
  SkillSet skills;
  absl::Time free_at;  // TechRec::free_at.
};

// An available technician located in a zone, as ScanAvailable scores it: a
// dense copy of what it needs, so a scan does not load technician records.
struct AvailableTech {
  uint32_t tech = 0;
  SkillSet skills;
  absl::Time since;  // TechRec::available_since.
};

struct ZoneRec {
  Zone pub;
  uint32_t index = 0;
  // What Pull reads of every zone in reach, on one cache line: the queued
  // counts per class, the surge flag, and where the requirement masks are.
  alignas(64) std::array<uint32_t, kUrgencyCount> queued_counts{};  // Urgency value - 1.
  bool surge = false;  // In surge (ZoneSurgeStarted .. ZoneSurgeEnded).
  bool surge_dirty = false;  // Listed in State::surge_dirty_.
  ZoneQueues queues;
  // How many available technicians located here have each skill (bit):
  // scans walk the rarest.
  std::array<uint32_t, kMaxSkills> available_by_skill{};
  // Those technicians, dense and in no order (kept by IndexAvailable), with
  // their skill masks side by side.
  std::vector<AvailableTech> available_list;
  std::vector<uint64_t> available_masks;
  absl::btree_set<uint32_t> members;  // Techs whose home or location is here.
  // Requests offered .. on hold here, in no order: about as many as the
  // zone's busy technicians, so a linear find is cheaper than a tree.
  std::vector<uint32_t> active;
  uint32_t at_risk = 0;  // Queued requests whose SLA is at risk (IsAtRisk).
  // Queued low-urgency requests with a location, per location (bundling).
  absl::btree_map<std::string, absl::btree_set<QueueKey>> low_by_location;
  // On-shift members (home or located here), in no particular order; kept
  // by IndexTech / UnindexTech / ReindexTech, which call BumpOnShift on any
  // change (a member joining or leaving, or its free_at moving).
  std::vector<OnShiftMember> on_shift;
  // on_shift[i].skills.mask(), side by side: scans test the mask first.
  std::vector<uint64_t> on_shift_masks;
  // Change counters of the on-shift members: of all, and per skill bit of
  // the members having it. A member adequate for a requirement has all of
  // its skills, so a change that can move the requirement's answer bumps
  // every counter OnShiftStamp adds up for it; the stamp of a requirement
  // no changed member covers may stay (so its cache does).
  uint64_t on_shift_version = 0;
  std::array<uint64_t, kMaxSkills> on_shift_skill_versions{};
  void BumpOnShift(uint64_t member_mask) {
    ++on_shift_version;
    for (uint64_t m = member_mask; m != 0; m &= m - 1) {
      ++on_shift_skill_versions[std::countr_zero(m)];
    }
  }
  // Changes (grows) whenever an on-shift member that has every skill in
  // `need_mask` changes; the counters only grow, so never repeats.
  uint64_t OnShiftStamp(uint64_t need_mask) const {
    if (need_mask == 0) return on_shift_version;  // Everyone covers it.
    uint64_t stamp = 0;
    for (uint64_t m = need_mask; m != 0; m &= m - 1) {
      stamp += on_shift_skill_versions[std::countr_zero(m)];
    }
    return stamp;
  }
  uint32_t available_members = 0;  // Members (as above) that are available.
  uint32_t QueuedTotal() const {
    uint32_t n = 0;
    for (uint32_t c : queued_counts) n += c;
    return n;
  }
};

// A queued request counts as SLA-at-risk for surge when its class has the
// short SLAs (effective urgent or emergency) or aging has promoted it
// above the urgency it was given (it waited aging_promote_minutes).
inline bool IsAtRisk(const Request& r) {
  return r.state == RequestState::kQueued &&
         (r.effective_urgency >= Urgency::kUrgent || r.effective_urgency > r.spec.urgency);
}

struct AlertRec {
  uint32_t number = 0;  // The emergency request it opened.
  bool resolved = false;
};

// Ids numbered from 1: `kind`, a dash and at least 6 digits ("R-000001"
// for requests, "D-000001" for deliveries).
std::string FormatNumberedId(char kind, uint32_t number);
// The number of a well-formed id of `kind` (as FormatNumberedId writes
// it); nullopt otherwise.
std::optional<uint32_t> ParseNumberedId(char kind, std::string_view id);

inline std::string FormatRequestId(uint32_t number) { return FormatNumberedId('R', number); }
inline std::optional<uint32_t> ParseRequestId(std::string_view id) {
  return ParseNumberedId('R', id);
}

// Material lines as text: "FUSE-13A x2, LAMP-T8-18W x1" (materials.cc).
std::string MaterialLinesText(const std::vector<MaterialLine>& lines);

}  // namespace dispatchd::engine::internal

#endif  // DISPATCHD_ENGINE_INTERNAL_RECORDS_H_
