#include "samri/store/shard_file.h"

#include <fcntl.h>
#include <hdf5.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <system_error>

#include "hdf5_handle.h"
#include "samri/core/error.h"
#include "samri/core/fast_hash.h"
#include "samri/core/sha256.h"

namespace samri::store {

namespace fs = std::filesystem;

namespace {

constexpr const char* kShardFormat = "samri-embedding-shard";
constexpr int kShardFormatVersion = 1;

// IEEE half precision as h5py defines it, so that h5py reads the dataset as numpy float16.
Hid half_type() {
  Hid t(H5Tcopy(H5T_IEEE_F32LE), H5Tclose, "float16 type");
  if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 15) < 0) {
    throw Error("HDF5: cannot define the float16 type");
  }
  return t;
}

Hid file_type(StoreDtype dtype) {
  switch (dtype) {
    case StoreDtype::kFloat16:
      return half_type();
    case StoreDtype::kBFloat16:
      return Hid(H5Tcopy(H5T_STD_U16LE), H5Tclose, "bf16 type");
    case StoreDtype::kFloat32:
      return Hid(H5Tcopy(H5T_IEEE_F32LE), H5Tclose, "float32 type");
    case StoreDtype::kInt8:
      return Hid(H5Tcopy(H5T_STD_I8LE), H5Tclose, "int8 type");
  }
  throw Error("unknown store dtype");
}

void write_dataset(hid_t file, const char* name, hid_t file_type_id, hid_t mem_type_id,
                   const std::vector<hsize_t>& dims, const void* data, const std::string& where) {
  Hid space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose, where);
  Hid dataset(H5Dcreate2(file, name, file_type_id, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              H5Dclose, where + ": dataset " + name);
  if (H5Dwrite(dataset, mem_type_id, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    throw Error(where + ": cannot write dataset " + name + io_error_suffix());
  }
}

void write_string_attribute(hid_t object, const char* name, const std::string& value,
                            const std::string& where) {
  Hid type(H5Tcopy(H5T_C_S1), H5Tclose, where);
  H5Tset_size(type, value.size());
  Hid space(H5Screate(H5S_SCALAR), H5Sclose, where);
  Hid attr(H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
           where + ": attribute " + name);
  if (H5Awrite(attr, type, value.data()) < 0) throw Error(where + ": cannot write attribute");
}

void write_int_attribute(hid_t object, const char* name, long long value,
                         const std::string& where) {
  Hid space(H5Screate(H5S_SCALAR), H5Sclose, where);
  Hid attr(H5Acreate2(object, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
           where + ": attribute " + name);
  if (H5Awrite(attr, H5T_NATIVE_LLONG, &value) < 0) throw Error(where + ": cannot write attribute");
}

std::string read_string_attribute(hid_t object, const char* name, const std::string& where) {
  if (H5Aexists(object, name) <= 0) throw Error(where + ": attribute " + name + " is missing");
  Hid attr(H5Aopen(object, name, H5P_DEFAULT), H5Aclose, where + ": attribute " + name);
  Hid type(H5Aget_type(attr), H5Tclose, where);
  if (H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) > 0) {
    throw Error(where + ": attribute " + name + " is not a fixed-length string");
  }
  std::string value(H5Tget_size(type), '\0');
  Hid mem(H5Tcopy(H5T_C_S1), H5Tclose, where);
  H5Tset_size(mem, value.size());
  if (H5Aread(attr, mem, value.data()) < 0) throw Error(where + ": cannot read attribute " + name);
  return value;
}

void fsync_path(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && !directory) {
    throw Error(path.string() + ": cannot sync to disk: " + std::strerror(err));
  }
}

std::vector<std::uint64_t> row_checksums(const ShardContents& c) {
  const auto& e = c.embeddings;
  const std::int64_t rows = e.values.size(0);
  const std::int64_t channels = e.values.size(1);
  const std::int64_t row_bytes = e.values[0].numel() * e.values.element_size();
  const auto* base = static_cast<const char*>(e.values.data_ptr());
  std::vector<std::uint64_t> hashes(rows);
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* s = e.scales.defined() ? e.scales.data_ptr<float>() + r * channels : nullptr;
    const float* o = e.offsets.defined() ? e.offsets.data_ptr<float>() + r * channels : nullptr;
    hashes[r] = row_hash(base + r * row_bytes, row_bytes, s, o, channels);
  }
  return hashes;
}

void check_contents(const ShardContents& c, const std::string& where) {
  const auto& v = c.embeddings.values;
  const auto n = static_cast<std::size_t>(v.defined() ? v.size(0) : 0);
  if (!v.defined() || v.dim() != 4 || n == 0 || !v.is_contiguous() || !v.device().is_cpu()) {
    throw Error(where + ": a shard needs a contiguous (N, C, H, W) CPU tensor with N > 0");
  }
  if (c.slice_ids.size() != n || c.slice_names.size() != n || c.label_maps.size() != n) {
    throw Error(where + ": a shard needs one slice id, name and label map per embedding");
  }
  if (c.dtype == StoreDtype::kInt8 &&
      (!c.embeddings.scales.defined() || !c.embeddings.offsets.defined())) {
    throw Error(where + ": int8 embeddings need scales and offsets");
  }
}

// The label maps of a shard, concatenated as int32, with each map's shape and offset.
struct LabelMaps {
  std::vector<std::int32_t> values;
  std::vector<std::int64_t> shapes;
  std::vector<std::int64_t> offsets;
};

LabelMaps concatenate_label_maps(const ShardContents& c, const std::string& where) {
  LabelMaps out;
  for (const auto& map : c.label_maps) {
    if (map.dim() != 2) throw Error(where + ": a label map must be 2-D");
    out.shapes.push_back(map.size(0));
    out.shapes.push_back(map.size(1));
    out.offsets.push_back(static_cast<std::int64_t>(out.values.size()));
    const auto wide = map.to(torch::kLong).contiguous();
    const auto* p = wide.data_ptr<std::int64_t>();
    for (std::int64_t i = 0; i < wide.numel(); ++i) {
      if (p[i] < INT32_MIN || p[i] > INT32_MAX) {
        throw Error(where + ": label value " + std::to_string(p[i]) + " does not fit int32");
      }
      out.values.push_back(static_cast<std::int32_t>(p[i]));
    }
  }
  return out;
}

void write_names(hid_t file, const std::vector<std::string>& names, const std::string& where) {
  std::vector<const char*> pointers;
  for (const auto& n : names) pointers.push_back(n.c_str());
  Hid type(H5Tcopy(H5T_C_S1), H5Tclose, where);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  write_dataset(file, "slice_names", type, type, {names.size()}, pointers.data(), where);
}

// A contiguous dataset whose space HDF5 reserves at creation but never writes (no fill value):
// the caller writes its bytes at the returned file offset itself, after the file is closed.
std::uint64_t reserve_dataset(hid_t file, const char* name, hid_t type,
                              const std::vector<hsize_t>& dims, const std::string& where) {
  Hid space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose, where);
  Hid dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, where);
  if (H5Pset_layout(dcpl, H5D_CONTIGUOUS) < 0 ||
      H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY) < 0 ||
      H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) < 0) {
    throw Error(where + ": cannot set up dataset " + name);
  }
  Hid dataset(H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), H5Dclose,
              where + ": dataset " + name);
  const haddr_t offset = H5Dget_offset(dataset);
  if (offset == HADDR_UNDEF) throw Error(where + ": no storage for dataset " + name);
  return offset;
}

// Where the two large datasets go; HDF5 itself writes only the small ones.
struct BulkOffsets {
  std::uint64_t embeddings = 0;
  std::uint64_t label_maps = 0;
};

// HDF5 part of a shard: everything but the bulk bytes. A failed HDF5 write leaves the library with
// a file it cannot close (and crashes at exit), so the large writes, where a full disk shows, are
// done by write_bulk instead, and free space is checked before HDF5 starts.
BulkOffsets write_hdf5_part(const fs::path& tmp, const ShardContents& c, const LabelMaps& labels,
                            const std::string& where) {
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  errno = 0;
  const hid_t created = H5Fcreate(tmp.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
  Hid file(created, H5Fclose, where + ": cannot create the shard file" + io_error_suffix());
  const auto& v = c.embeddings.values;
  const std::vector<hsize_t> dims(v.sizes().begin(), v.sizes().end());
  BulkOffsets offsets;
  offsets.embeddings = reserve_dataset(file, "embeddings", file_type(c.dtype), dims, where);
  offsets.label_maps =
      reserve_dataset(file, "label_maps", H5T_STD_I32LE, {labels.values.size()}, where);
  const hsize_t n = dims[0], channels = dims[1];
  if (c.dtype == StoreDtype::kInt8) {
    write_dataset(file, "scales", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {n, channels},
                  c.embeddings.scales.data_ptr<float>(), where);
    write_dataset(file, "offsets", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {n, channels},
                  c.embeddings.offsets.data_ptr<float>(), where);
  }
  write_dataset(file, "slice_ids", H5T_STD_I64LE, H5T_NATIVE_INT64, {n}, c.slice_ids.data(), where);
  write_names(file, c.slice_names, where);
  const auto hashes = row_checksums(c);
  write_dataset(file, "row_hash", H5T_STD_U64LE, H5T_NATIVE_UINT64, {n}, hashes.data(), where);
  write_dataset(file, "label_shapes", H5T_STD_I64LE, H5T_NATIVE_INT64, {n, 2}, labels.shapes.data(),
                where);
  write_dataset(file, "label_offsets", H5T_STD_I64LE, H5T_NATIVE_INT64, {n}, labels.offsets.data(),
                where);
  write_string_attribute(file, "format", kShardFormat, where);
  write_int_attribute(file, "format_version", kShardFormatVersion, where);
  write_string_attribute(file, "dtype", to_string(c.dtype), where);
  if (file.close() < 0) throw Error(where + ": cannot write the shard file" + io_error_suffix());
  return offsets;
}

void pwrite_all(int fd, const void* data, std::size_t size, std::uint64_t offset,
                const std::string& where) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw Error(where + ": cannot write the shard file (" +
                  std::string(n < 0 ? std::strerror(errno) : "no progress") + ")");
    }
    p += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
}

void write_bulk(const fs::path& tmp, const ShardContents& c, const LabelMaps& labels,
                const BulkOffsets& offsets, const std::string& where) {
  const int fd = ::open(tmp.c_str(), O_WRONLY);
  if (fd < 0) throw Error(where + ": cannot reopen the shard file: " + std::strerror(errno));
  try {
    const auto& v = c.embeddings.values;
    pwrite_all(fd, v.data_ptr(), v.numel() * v.element_size(), offsets.embeddings, where);
    pwrite_all(fd, labels.values.data(), labels.values.size() * sizeof(std::int32_t),
               offsets.label_maps, where);
    if (::fsync(fd) != 0) throw Error(where + ": cannot sync to disk: " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0)
    throw Error(where + ": cannot close the shard file: " + std::strerror(errno));
}

// Refuses a shard the disk (or the process's file size limit, RLIMIT_FSIZE) cannot hold before
// anything is written.
void check_room(const fs::path& folder, std::uint64_t bytes, const std::string& where) {
  struct statvfs fs_info {};
  if (::statvfs(folder.c_str(), &fs_info) == 0) {
    const auto available = static_cast<std::uint64_t>(fs_info.f_bavail) * fs_info.f_frsize;
    if (available < bytes) {
      throw Error(where + ": the disk is full (" + std::to_string(available / 1000000) +
                  " MB free, the shard needs " + std::to_string(bytes / 1000000 + 1) + " MB)");
    }
  }
  rlimit limit{};
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      limit.rlim_cur < bytes) {
    throw Error(where + ": the shard (" + std::to_string(bytes) +
                " bytes) exceeds this process's file size limit (ulimit -f: " +
                std::to_string(limit.rlim_cur) + " bytes)");
  }
}

void write_shard_file(const fs::path& tmp, const ShardContents& c, const std::string& where) {
  const LabelMaps labels = concatenate_label_maps(c, where);
  const auto& v = c.embeddings.values;
  // The bulk plus a generous allowance for HDF5's own structures and the small datasets.
  const std::uint64_t estimate = v.numel() * v.element_size() + labels.values.size() * 4 +
                                 c.slice_ids.size() * (64 + 8 * v.size(1)) + (1u << 20);
  check_room(tmp.parent_path(), estimate, where);
  const BulkOffsets offsets = write_hdf5_part(tmp, c, labels, where);
  write_bulk(tmp, c, labels, offsets, where);
}

}  // namespace

std::uint64_t row_hash(const void* values, std::int64_t value_bytes, const float* scales,
                       const float* offsets, std::int64_t channels) {
  std::uint64_t h = fast_hash64(values, static_cast<std::size_t>(value_bytes), 0);
  const auto floats = static_cast<std::size_t>(channels) * sizeof(float);
  if (scales) h = fast_hash64(scales, floats, h);
  if (offsets) h = fast_hash64(offsets, floats, h);
  return h;
}

ShardRecord write_shard(const fs::path& path, const ShardContents& contents) {
  const std::string where = path.string();
  check_contents(contents, where);
  const fs::path tmp = path.parent_path() / ("." + path.stem().string() + ".tmp" +
                                             std::to_string(::getpid()) + ".partial");
  ShardRecord record;
  try {
    write_shard_file(tmp, contents, where);
    record.sha256 = sha256_file(tmp);
    record.bytes = static_cast<std::int64_t>(fs::file_size(tmp));
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) throw Error(where + ": cannot move the finished shard into place: " + ec.message());
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  fsync_path(path.parent_path(), true);
  record.file = path.filename().string();
  record.rows = static_cast<std::int64_t>(contents.slice_ids.size());
  record.slice_ids = contents.slice_ids;
  return record;
}

namespace {

template <typename T>
std::vector<T> read_vector(hid_t file, const char* name, hid_t mem_type, std::size_t expected,
                           const std::string& where) {
  if (H5Lexists(file, name, H5P_DEFAULT) <= 0) {
    throw Error(where + ": dataset " + std::string(name) + " is missing");
  }
  Hid dataset(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose, where + ": dataset " + name);
  Hid space(H5Dget_space(dataset), H5Sclose, where);
  const auto count = H5Sget_simple_extent_npoints(space);
  if (count < 0 || static_cast<std::size_t>(count) != expected) {
    throw Error(where + ": dataset " + std::string(name) + " has " + std::to_string(count) +
                " values, expected " + std::to_string(expected));
  }
  std::vector<T> values(expected);
  if (expected > 0 &&
      H5Dread(dataset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
    throw Error(where + ": cannot read dataset " + std::string(name));
  }
  return values;
}

StoreDtype check_embedding_type(hid_t type, StoreDtype expected, const std::string& where) {
  const bool ok = H5Tget_size(type) == static_cast<std::size_t>(element_bytes(expected)) &&
                  (H5Tget_class(type) == H5T_FLOAT) ==
                      (expected == StoreDtype::kFloat16 || expected == StoreDtype::kFloat32);
  if (!ok)
    throw Error(where + ": the embeddings' HDF5 type does not match dtype " + to_string(expected));
  return expected;
}

Hid open_read_only(const fs::path& path, const std::string& where) {
  if (!fs::is_regular_file(path)) throw Error(where + ": shard file is missing");
  Hid fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, where);
#if H5_VERSION_GE(1, 10, 7)
  H5Pset_file_locking(fapl, false, true);
#endif
  return Hid(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), H5Fclose,
             where + ": not a readable HDF5 shard (damaged or truncated?)");
}

}  // namespace

ShardLayout read_shard_layout(const fs::path& path) {
  const std::string where = path.string();
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  Hid file = open_read_only(path, where);
  if (read_string_attribute(file, "format", where) != kShardFormat) {
    throw Error(where + ": not a samri embedding shard");
  }
  ShardLayout layout;
  layout.dtype = parse_store_dtype(read_string_attribute(file, "dtype", where), where + ": dtype");
  if (H5Lexists(file, "embeddings", H5P_DEFAULT) <= 0) {
    throw Error(where + ": dataset embeddings is missing");
  }
  Hid dataset(H5Dopen2(file, "embeddings", H5P_DEFAULT), H5Dclose, where + ": embeddings");
  Hid space(H5Dget_space(dataset), H5Sclose, where);
  hsize_t dims[4] = {0, 0, 0, 0};
  if (H5Sget_simple_extent_ndims(space) != 4 ||
      H5Sget_simple_extent_dims(space, dims, nullptr) < 0) {
    throw Error(where + ": embeddings is not (N, C, H, W)");
  }
  Hid type(H5Dget_type(dataset), H5Tclose, where);
  check_embedding_type(type, layout.dtype, where);
  Hid plist(H5Dget_create_plist(dataset), H5Pclose, where);
  const haddr_t offset = H5Dget_offset(dataset);
  if (H5Pget_layout(plist) != H5D_CONTIGUOUS || offset == HADDR_UNDEF) {
    throw Error(where + ": embeddings are not stored contiguously");
  }
  layout.rows = static_cast<std::int64_t>(dims[0]);
  layout.chw = {static_cast<std::int64_t>(dims[1]), static_cast<std::int64_t>(dims[2]),
                static_cast<std::int64_t>(dims[3])};
  layout.embeddings_offset = offset;
  const auto n = static_cast<std::size_t>(layout.rows);
  layout.slice_ids = read_vector<std::int64_t>(file, "slice_ids", H5T_NATIVE_INT64, n, where);
  layout.row_hash = read_vector<std::uint64_t>(file, "row_hash", H5T_NATIVE_UINT64, n, where);
  if (layout.dtype == StoreDtype::kInt8) {
    const std::size_t sc = n * static_cast<std::size_t>(layout.chw[0]);
    layout.scales = read_vector<float>(file, "scales", H5T_NATIVE_FLOAT, sc, where);
    layout.offsets = read_vector<float>(file, "offsets", H5T_NATIVE_FLOAT, sc, where);
  }
  const auto end = offset + static_cast<std::uint64_t>(layout.rows * layout.row_bytes());
  if (end > fs::file_size(path)) throw Error(where + ": truncated (embeddings end past the file)");
  return layout;
}

torch::Tensor read_shard_label_map(const fs::path& path, std::int64_t row) {
  const std::string where = path.string();
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  Hid file = open_read_only(path, where);
  Hid shapes_ds(H5Dopen2(file, "label_shapes", H5P_DEFAULT), H5Dclose, where + ": label_shapes");
  Hid offsets_ds(H5Dopen2(file, "label_offsets", H5P_DEFAULT), H5Dclose, where + ": label_offsets");
  Hid maps_ds(H5Dopen2(file, "label_maps", H5P_DEFAULT), H5Dclose, where + ": label_maps");
  auto read_at = [&](hid_t ds, std::vector<hsize_t> start, std::vector<hsize_t> count,
                     hid_t mem_type, void* out) {
    Hid space(H5Dget_space(ds), H5Sclose, where);
    const int rank = H5Sget_simple_extent_ndims(space);
    if (rank != static_cast<int>(start.size())) throw Error(where + ": label dataset rank");
    std::vector<hsize_t> dims(rank);
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    for (int d = 0; d < rank; ++d) {
      if (start[d] + count[d] > dims[d]) throw Error(where + ": label row out of range");
    }
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
    Hid mem(H5Screate_simple(rank, count.data(), nullptr), H5Sclose, where);
    if (H5Dread(ds, mem_type, mem, space, H5P_DEFAULT, out) < 0) {
      throw Error(where + ": cannot read the label map");
    }
  };
  std::int64_t shape[2] = {0, 0};
  std::int64_t offset = 0;
  const auto r = static_cast<hsize_t>(row);
  read_at(shapes_ds, {r, 0}, {1, 2}, H5T_NATIVE_INT64, shape);
  read_at(offsets_ds, {r}, {1}, H5T_NATIVE_INT64, &offset);
  if (shape[0] < 1 || shape[1] < 1 || offset < 0) throw Error(where + ": bad label map shape");
  auto map = torch::empty({shape[0], shape[1]}, torch::kInt);
  read_at(maps_ds, {static_cast<hsize_t>(offset)}, {static_cast<hsize_t>(map.numel())},
          H5T_NATIVE_INT32, map.data_ptr());
  return map;
}

}  // namespace samri::store
