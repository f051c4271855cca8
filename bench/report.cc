#include "bench/report.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace dispatchd::bench {
namespace {

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  return absl::StrFormat("%.6g", v);
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", static_cast<int>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool Met(const std::string& op, double value, double target) {
  return op == "<=" ? value <= target : value >= target;
}

}  // namespace

Report::Row* Report::Find(const std::string& key) {
  for (Row& r : rows_) {
    if (r.key == key) return &r;
  }
  return nullptr;
}

void Report::Target(const std::string& key, const std::string& op, double target,
                    const std::string& unit) {
  rows_.push_back({key, op, unit, target, std::nullopt});
}

void Report::Set(const std::string& key, double value) {
  if (Row* r = Find(key)) {
    r->value = value;
  } else {
    Detail(key, value);
  }
}

void Report::Detail(const std::string& key, double value) { details_.push_back({key, value}); }
void Report::Note(const std::string& key, const std::string& text) {
  notes_.push_back({key, text});
}
void Report::Error(const std::string& what, const absl::Status& status) {
  errors_.push_back(absl::StrCat(what, ": ", status.ToString()));
}

std::string Report::Table() const {
  std::string out = absl::StrFormat("%-32s %14s %14s  %s\n", "figure", "value", "target", "");
  for (const Row& r : rows_) {
    const std::string value = r.value ? absl::StrFormat("%.4g", *r.value) : "n/a";
    const std::string target = absl::StrFormat("%s %.4g", r.op, r.target);
    const std::string verdict = !r.value                         ? "not measured"
                                : Met(r.op, *r.value, r.target) ? "pass"
                                                                 : "MISS";
    absl::StrAppendFormat(&out, "%-32s %14s %14s  %s %s\n", r.key, value, target, verdict,
                          r.unit);
  }
  for (const std::string& e : errors_) absl::StrAppend(&out, "error: ", e, "\n");
  return out;
}

std::string Report::Json() const {
  std::string out = "{\n  \"figures\": {";
  for (size_t i = 0; i < rows_.size(); ++i) {
    const Row& r = rows_[i];
    absl::StrAppend(&out, i ? "," : "", "\n    ", JsonString(r.key), ": ",
                    r.value ? JsonNumber(*r.value) : "null");
  }
  absl::StrAppend(&out, "\n  },\n  \"targets\": {");
  for (size_t i = 0; i < rows_.size(); ++i) {
    const Row& r = rows_[i];
    absl::StrAppend(&out, i ? "," : "", "\n    ", JsonString(r.key), ": {\"op\": ",
                    JsonString(r.op), ", \"value\": ", JsonNumber(r.target), ", \"met\": ",
                    r.value ? (Met(r.op, *r.value, r.target) ? "true" : "false") : "null",
                    "}");
  }
  absl::StrAppend(&out, "\n  },\n  \"details\": {");
  for (size_t i = 0; i < details_.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", "\n    ", JsonString(details_[i].first), ": ",
                    JsonNumber(details_[i].second));
  }
  absl::StrAppend(&out, "\n  },\n  \"notes\": {");
  for (size_t i = 0; i < notes_.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", "\n    ", JsonString(notes_[i].first), ": ",
                    JsonString(notes_[i].second));
  }
  absl::StrAppend(&out, "\n  },\n  \"errors\": [");
  for (size_t i = 0; i < errors_.size(); ++i) {
    absl::StrAppend(&out, i ? ", " : "", JsonString(errors_[i]));
  }
  absl::StrAppend(&out, "]\n}\n");
  return out;
}

absl::Status Report::Write(const std::string& path) const {
  std::error_code error;
  const std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), error);
  std::ofstream f(path, std::ios::trunc);
  f << Json();
  f.close();
  if (!f) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace dispatchd::bench
