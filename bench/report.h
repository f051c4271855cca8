// The results of a `make bench` run: each figure with its target, printed
// as a table and written as bench/results/latest.json.
//
// JSON layout: {"figures": {KEY: VALUE, ...}, "targets": {KEY: {"op": "<=",
// "value": T, "met": true}}, "details": {NAME: VALUE, ...}, "machine": {...}}.
// Every figure key named in issue 6 is under "figures"; a figure that
// could not be measured is null there and listed in "errors".
//
// Thread safety: not thread-safe.
#ifndef DISPATCHD_BENCH_REPORT_H_
#define DISPATCHD_BENCH_REPORT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace dispatchd::bench {

class Report {
 public:
  // Declares a figure and its target: value `op` target, op "<=" or ">=".
  void Target(const std::string& key, const std::string& op, double target,
              const std::string& unit);
  void Set(const std::string& key, double value);
  // Baselines and raw numbers the ratios were made of.
  void Detail(const std::string& key, double value);
  void Note(const std::string& key, const std::string& text);
  void Error(const std::string& what, const absl::Status& status);

  // The table: figure, value, target, pass/miss.
  std::string Table() const;
  std::string Json() const;
  // Writes Json() to `path` (creating its directory).
  absl::Status Write(const std::string& path) const;
  bool has_errors() const { return !errors_.empty(); }

 private:
  struct Row {
    std::string key, op, unit;
    double target = 0;
    std::optional<double> value;
  };
  Row* Find(const std::string& key);

  std::vector<Row> rows_;
  std::vector<std::pair<std::string, double>> details_;
  std::vector<std::pair<std::string, std::string>> notes_;
  std::vector<std::string> errors_;
};

}  // namespace dispatchd::bench

#endif  // DISPATCHD_BENCH_REPORT_H_
