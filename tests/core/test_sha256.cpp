#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "samri/core/sha256.h"

namespace {

std::string digest(const std::string& text) {
  samri::Sha256 h;
  h.update(text.data(), text.size());
  return h.hex_digest();
}

TEST(Sha256, KnownVectors) {
  // FIPS 180-4 examples.
  EXPECT_EQ(digest(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, FileMatchesIncrementalDigest) {
  const auto path = std::filesystem::temp_directory_path() / "samri_sha256_test.bin";
  std::string text(200000, 'x');
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = char(i * 7 % 251);
  std::ofstream(path, std::ios::binary) << text;
  EXPECT_EQ(samri::sha256_file(path), digest(text));
  std::filesystem::remove(path);
}

}  // namespace
