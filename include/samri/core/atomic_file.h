#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace samri {

// Writes `path` through a temporary sibling and renames it into place, so that readers (and
// resumed jobs) never see a half-written file. `write` receives the temporary path; if it throws,
// the temporary is removed and the exception propagates.
void write_atomically(const std::filesystem::path& path,
                      const std::function<void(const std::filesystem::path& tmp)>& write);

// write_atomically for a text file holding exactly `text`.
void write_text_atomically(const std::filesystem::path& path, const std::string& text);

// The whole of a text file; samri::Error naming it and `what` it is when it cannot be read.
std::string read_text_file(const std::filesystem::path& path, const std::string& what);

// The temporary name used by write_atomically for `path`: same folder and the same extension(s),
// so that writers that choose a format by extension (ITK) still do the right thing.
std::filesystem::path temporary_sibling(const std::filesystem::path& path);

}  // namespace samri
