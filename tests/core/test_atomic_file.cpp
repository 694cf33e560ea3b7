#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "samri/core/atomic_file.h"
#include "samri/core/error.h"

namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(AtomicFile, TemporaryKeepsAllExtensions) {
  const fs::path tmp = samri::temporary_sibling("/a/b/mask.nii.gz");
  EXPECT_EQ(tmp.parent_path(), fs::path("/a/b"));
  const std::string name = tmp.filename().string();
  EXPECT_EQ(name.substr(name.size() - 7), ".nii.gz");
  EXPECT_NE(name, "mask.nii.gz");
}

TEST(AtomicFile, WritesThenRenames) {
  const fs::path dir = fresh_dir("samri_atomic_ok");
  samri::write_atomically(dir / "out.txt", [](const fs::path& tmp) { std::ofstream(tmp) << "hi"; });
  std::ifstream in(dir / "out.txt");
  std::string text;
  in >> text;
  EXPECT_EQ(text, "hi");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(AtomicFile, FailureLeavesNothing) {
  const fs::path dir = fresh_dir("samri_atomic_fail");
  EXPECT_THROW(samri::write_atomically(dir / "out.txt",
                                       [](const fs::path& tmp) {
                                         std::ofstream(tmp) << "half";
                                         throw samri::Error("boom");
                                       }),
               samri::Error);
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST(AtomicFile, MissingFolderIsAClearError) {
  try {
    samri::write_atomically("/nonexistent_samri_dir/x.txt", [](const fs::path&) {});
    FAIL() << "expected an error";
  } catch (const samri::Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos);
  }
}

}  // namespace
