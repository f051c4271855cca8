// A fresh temporary directory per test, removed afterwards.
#ifndef DISPATCHD_TESTS_JOURNAL_TEST_DIR_H_
#define DISPATCHD_TESTS_JOURNAL_TEST_DIR_H_

#include <cstdlib>
#include <filesystem>
#include <string>

namespace dispatchd::testing {

class TestDir {
 public:
  TestDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dispatchd-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TestDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace dispatchd::testing

#endif  // DISPATCHD_TESTS_JOURNAL_TEST_DIR_H_
