// GradualTable: a hash table that grows without a pause.
//
// An absl::flat_hash_set or _map doubles in one step when it fills: every
// element is rehashed and moved inside the insert that tipped it. At a
// million entries that one insert takes tens to hundreds of milliseconds
// (far more when the hash reads each element's key from elsewhere, as the
// engine's idempotency index does), and on a single-writer engine every
// caller waits for it. GradualTable wraps two tables of the same type
// instead: once the live one is three-quarters full, it becomes the old
// table, a new one with room for twice as many starts empty, and every
// later insert moves a few elements across until the old one is empty.
// No insert moves more than kMovesPerInsert + 1 elements, and lookups look
// in the new table and then, while it drains, the old one.
//
//   GradualTable<absl::flat_hash_map<std::string, int>> t;
//   if (auto* e = t.Find(key)) ++e->second; else t.Insert({key, 1});
//
// The price: while a table drains (the next capacity/4 inserts after each
// doubling) a missed lookup probes two tables, and both tables' memory is
// held. Small tables (under kGradualFrom elements) grow the ordinary way,
// which costs microseconds.
//
// Table must be an absl raw_hash_set (flat_hash_set/map or node_*): it
// needs capacity(), reserve(), extract() and a constructor taking
// (bucket_count, hasher, key_equal). Elements are only inserted, never
// erased, except by TakeAny (which empties a table that is no longer
// inserted into).
//
// Thread safety: none; as the table it wraps.
#ifndef DISPATCHD_BASE_GRADUAL_TABLE_H_
#define DISPATCHD_BASE_GRADUAL_TABLE_H_

#include <cstddef>
#include <optional>
#include <utility>

namespace dispatchd::base {

template <typename Table>
class GradualTable {
  using Iterator = typename Table::iterator;
  using Pointer = decltype(&*std::declval<Iterator&>());

 public:
  using value_type = typename Table::value_type;
  // From this many elements on, growth is spread over later inserts.
  static constexpr size_t kGradualFrom = size_t{1} << 13;
  // Elements moved from the draining table by each insert.
  static constexpr size_t kMovesPerInsert = 4;

  // `empty` carries the hasher and equality (which may hold state).
  explicit GradualTable(Table empty = Table())
      : live_(std::move(empty)), old_(Fresh(live_)), next_(old_.end()) {}
  GradualTable(const GradualTable&) = delete;
  GradualTable& operator=(const GradualTable&) = delete;

  size_t size() const { return live_.size() + old_.size(); }
  bool empty() const { return size() == 0; }
  // True while an old table is being moved across (for tests).
  bool draining() const { return !old_.empty(); }
  // Slots of the live table (an absl table's capacity: 2^k - 1).
  size_t capacity() const { return live_.capacity(); }
  // Makes room for `n` elements in all, so that inserting them starts no
  // growth (for a bulk load). REQUIRES: !draining().
  void Reserve(size_t n) { live_.reserve(n / 3 * 4 + 4); }

  // The element with `key`, or null. The pointer is good until the next
  // insert.
  template <typename K>
  const value_type* Find(const K& key) const {
    if (auto it = live_.find(key); it != live_.end()) return &*it;
    if (old_.empty()) return nullptr;
    auto it = old_.find(key);
    return it == old_.end() ? nullptr : &*it;
  }
  // Mutable for maps (the mapped value); sets hand out const elements.
  template <typename K>
  Pointer Find(const K& key) {
    return const_cast<Pointer>(std::as_const(*this).Find(key));
  }

  // Inserts `value`, whose key must not be in the table yet (Find first).
  // Returns the element inserted, good until the next insert.
  template <typename V>
  auto& Insert(V&& value) {
    taking_ = false;
    Step();
    if (old_.empty() && live_.size() >= kGradualFrom &&
        live_.size() + 1 > live_.capacity() / 4 * 3) {
      Begin();
    }
    return *live_.insert(std::forward<V>(value)).first;
  }

  // Removes and returns some element; nullopt when empty. For emptying a
  // table a bit at a time (an insert in between starts the walk again).
  std::optional<value_type> TakeAny() {
    if (!old_.empty()) {
      std::optional<value_type> v = TakeAt(old_, next_);
      ReleaseIfDrained();
      return v;
    }
    if (live_.empty()) return std::nullopt;
    if (!taking_) {
      take_ = live_.begin();
      taking_ = true;
    }
    return TakeAt(live_, take_);
  }

 private:
  static Table Fresh(const Table& like) {
    return Table(0, like.hash_function(), like.key_eq());
  }

  // The live table becomes the old one; the new live one has room for
  // twice as many, which the moves fill before it could need to grow.
  void Begin() {
    old_ = std::move(live_);
    live_ = Fresh(old_);
    live_.reserve(2 * old_.size());
    next_ = old_.begin();
  }

  void Step() {
    for (size_t i = 0; i < kMovesPerInsert && !old_.empty(); ++i) {
      Iterator it = next_++;  // Erasing `it` leaves next_ valid.
      live_.insert(old_.extract(it));
    }
    ReleaseIfDrained();
  }

  void ReleaseIfDrained() {
    if (old_.empty() && old_.capacity() > 0) {
      old_ = Fresh(live_);  // Frees the drained table's memory.
      next_ = old_.end();
    }
  }

  // Moves the element at `cursor` out, erases it and advances `cursor`.
  static std::optional<value_type> TakeAt(Table& from, Iterator& cursor) {
    Iterator at = cursor++;
    std::optional<value_type> v(std::move(*at));
    from.erase(at);
    return v;
  }

  Table live_;
  Table old_;  // Empty except while draining into live_.
  Iterator next_;  // The next element of old_ to move.
  Iterator take_;  // TakeAny's place in live_, while taking_.
  bool taking_ = false;
};

}  // namespace dispatchd::base

#endif  // DISPATCHD_BASE_GRADUAL_TABLE_H_
