#pragma once

#include <cstddef>
#include <string>

namespace samri::model {

// Whether the zip record `name`, whose data starts at `data_offset` of the archive `file`, is
// stored there as exactly `size` plain bytes: no compression or encryption, data aligned to 64
// bytes as torch.save writes it, and `size` confirmed by the local header or, where the sizes
// follow the data (torch's streaming writer), by the data descriptor right after `size` bytes.
// The local header is found by walking back from the data to a header whose name is `name` (or
// ends with "/" + `name`) and whose lengths lead exactly to `data_offset`.
bool is_stored_zip_record(const unsigned char* file, std::size_t file_size, std::size_t data_offset,
                          const std::string& name, std::size_t size);

}  // namespace samri::model
