#pragma once

// Internal to samri_io: ITK's MetaImage, BMP and JPEG readers accept a file cut short (MetaIO and
// libjpeg only print a warning; the missing voxels come back as zeros or grey), so these checks
// run before ITK reads such a file. Each throws samri::Error naming the file.

#include <cstdint>
#include <filesystem>

namespace samri::io::detail {

// `expected_bytes`: the uncompressed voxel data ITK expects (ImageIOBase::GetImageSizeInBytes).
void check_metaimage_complete(const std::filesystem::path& path, std::int64_t expected_bytes);

void check_bmp_complete(const std::filesystem::path& path);

// Walks the JPEG markers and the entropy-coded data up to the end-of-image marker.
void check_jpeg_complete(const std::filesystem::path& path);

}  // namespace samri::io::detail
