// Helpers shared by the journal tests: numbered test records, appending and
// waiting for the answer, and reading back everything a journal holds.
#ifndef DISPATCHD_TESTS_JOURNAL_JOURNAL_TEST_UTIL_H_
#define DISPATCHD_TESTS_JOURNAL_JOURNAL_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <future>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "journal/journal.h"

namespace dispatchd::testing {

// Records `first` .. `first` + n - 1, with payloads "event-<sequence>".
inline std::vector<journal::Record> TestRecords(uint64_t first, int n) {
  std::vector<journal::Record> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({first + i, journal::RecordType::kEvent, absl::StrCat("event-", first + i)});
  }
  return out;
}

// Appends `records` to `j` and waits for the durability answer.
inline absl::Status AppendSync(journal::Journal& j, std::vector<journal::Record> records) {
  std::promise<absl::Status> p;
  j.Append(std::move(records), [&p](absl::Status st) { p.set_value(st); });
  return p.get_future().get();
}

// Every durable record of `j` from `from` on; the test fails if the read does.
inline std::vector<journal::Record> ReadAll(const journal::Journal& j, uint64_t from = 1) {
  std::vector<journal::Record> out;
  EXPECT_TRUE(j.Read(from, [&](const journal::Record& r) {
                 out.push_back(r);
                 return absl::OkStatus();
               }).ok());
  return out;
}

}  // namespace dispatchd::testing

#endif  // DISPATCHD_TESTS_JOURNAL_JOURNAL_TEST_UTIL_H_
