#include "itk_reading.h"

#include <itkBMPImageIOFactory.h>
#include <itkGDCMImageIO.h>
#include <itkImage.h>
#include <itkImageIOBase.h>
#include <itkImageIOFactory.h>
#include <itkImageSeriesReader.h>
#include <itkJPEGImageIOFactory.h>
#include <itkMetaImageIOFactory.h>
#include <itkNiftiImageIOFactory.h>
#include <itkNrrdImageIOFactory.h>
#include <itkPNGImageIOFactory.h>
#include <itkTIFFImageIOFactory.h>

#include <mutex>

#include "file_completeness.h"
#include "nifti1_voxels.h"
#include "samri/core/error.h"
#include "voxel_buffer.h"

namespace samri::io::detail {

namespace fs = std::filesystem;

namespace {

VoxelType voxel_type_of(const itk::ImageIOBase& io, const fs::path& path) {
  using C = itk::IOComponentEnum;
  const bool wide = io.GetComponentSize() == 8;
  switch (io.GetComponentType()) {
    case C::UCHAR:
      return VoxelType::kUInt8;
    case C::CHAR:
      return VoxelType::kInt8;
    case C::USHORT:
      return VoxelType::kUInt16;
    case C::SHORT:
      return VoxelType::kInt16;
    case C::UINT:
      return VoxelType::kUInt32;
    case C::INT:
      return VoxelType::kInt32;
    case C::ULONG:
      return wide ? VoxelType::kUInt64 : VoxelType::kUInt32;
    case C::LONG:
      return wide ? VoxelType::kInt64 : VoxelType::kInt32;
    case C::ULONGLONG:
      return VoxelType::kUInt64;
    case C::LONGLONG:
      return VoxelType::kInt64;
    case C::FLOAT:
      return VoxelType::kFloat32;
    case C::DOUBLE:
      return VoxelType::kFloat64;
    default:
      throw Error(path.string() + ": unsupported voxel component type " +
                  itk::ImageIOBase::GetComponentTypeAsString(io.GetComponentType()));
  }
}

bool is_natural_image_io(const itk::ImageIOBase& io) {
  const std::string name = io.GetNameOfClass();
  return name == "PNGImageIO" || name == "JPEGImageIO" || name == "BMPImageIO" ||
         name == "TIFFImageIO";
}

int checked_components(const itk::ImageIOBase& io, bool natural, const fs::path& path) {
  const int components = static_cast<int>(io.GetNumberOfComponents());
  const bool complex = io.GetPixelType() == itk::IOPixelEnum::COMPLEX;
  if (!complex && (components == 1 || (natural && components <= 4))) return components;
  throw Error(path.string() + ": " + std::to_string(components) + " values per voxel (" +
              itk::ImageIOBase::GetPixelTypeAsString(io.GetPixelType()) +
              "); only scalar images (and RGB natural images) are supported");
}

Geometry geometry_of(const itk::ImageIOBase& io) {
  const unsigned dims = io.GetNumberOfDimensions();
  Geometry g;
  g.direction.resize(dims * dims);
  for (unsigned d = 0; d < dims; ++d) {
    g.size.push_back(static_cast<std::int64_t>(io.GetDimensions(d)));
    g.spacing.push_back(io.GetSpacing(d));
    g.origin.push_back(io.GetOrigin(d));
    const auto column = io.GetDirection(d);
    for (unsigned r = 0; r < dims; ++r) g.direction[r * dims + d] = column[r];
  }
  return g;
}

void read_information(itk::ImageIOBase& io, const fs::path& path) {
  io.SetFileName(path.string());
  try {
    io.ReadImageInformation();
  } catch (const itk::ExceptionObject& e) {
    throw Error(path.string() + ": cannot read the image header: " + e.GetDescription());
  }
  const unsigned dims = io.GetNumberOfDimensions();
  if (dims < 2 || dims > 4) {
    throw Error(path.string() + ": " + std::to_string(dims) +
                "-D images are not supported (2-D, 3-D and 4-D are)");
  }
}

torch::Tensor read_voxels(itk::ImageIOBase& io, const Geometry& g, int components,
                          const fs::path& path) {
  const VoxelType type = voxel_type_of(io, path);
  const std::int64_t count = g.voxel_count() * components;
  torch::Tensor bytes = allocate_voxel_bytes(type, count);
  itk::ImageIORegion region(g.size.size());
  for (std::size_t d = 0; d < g.size.size(); ++d) {
    region.SetIndex(d, 0);
    region.SetSize(d, static_cast<itk::SizeValueType>(g.size[d]));
  }
  io.SetIORegion(region);
  try {
    io.Read(bytes.data_ptr());
  } catch (const itk::ExceptionObject& e) {
    throw Error(path.string() + ": cannot read the voxel data: " + e.GetDescription());
  }
  return voxels_from_bytes(bytes, type, path).reshape(buffer_shape(g, components));
}

// Formats whose ITK readers miss damage are checked, or read, by samri itself first.
torch::Tensor read_voxels_checked(itk::ImageIOBase& io, const Geometry& g, int components,
                                  const fs::path& path) {
  const std::string reader = io.GetNameOfClass();
  if (reader == "NiftiImageIO") {
    if (auto voxels = read_nifti1_voxels(path, g.voxel_count() * components)) {
      return voxels->reshape(buffer_shape(g, components));
    }
  }
  if (reader == "MetaImageIO") {
    check_metaimage_complete(path, static_cast<std::int64_t>(io.GetImageSizeInBytes()));
  } else if (reader == "BMPImageIO") {
    check_bmp_complete(path);
  } else if (reader == "JPEGImageIO") {
    check_jpeg_complete(path);
  }
  return read_voxels(io, g, components, path);
}

// SAM's reference reads images with Pillow's convert("RGB"): alpha is dropped, as here.
void drop_alpha(Image& image) {
  if (image.components == 4 || image.components == 2) {
    image.components -= 1;
    image.data = image.data.narrow(-1, 0, image.components);
    if (image.components == 1) image.data = image.data.squeeze(-1);
    image.data = image.data.contiguous();
  }
}

Image read_with_io(itk::ImageIOBase& io, const fs::path& path) {
  read_information(io, path);
  Image image;
  image.source = path.string();
  image.natural = is_natural_image_io(io);
  image.geometry = geometry_of(io);
  image.components = checked_components(io, image.natural, path);
  check_grid_size(path, image.geometry.size, image.components);
  image.data = read_voxels_checked(io, image.geometry, image.components, path);
  drop_alpha(image);
  return image;
}

// The first two axes of a one-slice 3-D image, as ITK's reader does for a 2-D output image.
Image drop_single_slice(Image image) {
  Geometry& g = image.geometry;
  if (g.dimension() != 3 || g.size[2] != 1) return image;
  g.size.resize(2);
  g.spacing.resize(2);
  g.origin.resize(2);
  g.direction = {g.direction[0], g.direction[1], g.direction[3], g.direction[4]};
  image.data = image.data.reshape(buffer_shape(g, image.components));
  return image;
}

}  // namespace

// The DICOM factory is left out on purpose: GDCM must only see files that passed
// inspect_dicom_file, so DICOM files are handed to GDCMImageIO explicitly.
void register_itk_factories() {
  static std::once_flag once;
  std::call_once(once, [] {
    itk::NiftiImageIOFactory::RegisterOneFactory();
    itk::NrrdImageIOFactory::RegisterOneFactory();
    itk::MetaImageIOFactory::RegisterOneFactory();
    itk::PNGImageIOFactory::RegisterOneFactory();
    itk::JPEGImageIOFactory::RegisterOneFactory();
    itk::BMPImageIOFactory::RegisterOneFactory();
    itk::TIFFImageIOFactory::RegisterOneFactory();
  });
}

Image read_with_itk(const fs::path& path) {
  register_itk_factories();
  const auto io =
      itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::FileModeEnum::ReadMode);
  if (!io) {
    throw Error(path.string() +
                ": not a readable image (no reader for NIfTI, NRRD, MetaImage, DICOM, PNG, JPEG, "
                "BMP or TIFF recognises it; it may be corrupt)");
  }
  return read_with_io(*io, path);
}

Image read_dicom_file_with_itk(const fs::path& path) {
  const auto io = itk::GDCMImageIO::New();
  return drop_single_slice(read_with_io(*io, path));
}

Image read_dicom_slices_with_itk(const std::vector<std::string>& files, const fs::path& directory) {
  using Volume = itk::Image<float, 3>;
  auto reader = itk::ImageSeriesReader<Volume>::New();
  reader->SetImageIO(itk::GDCMImageIO::New());
  reader->SetFileNames(files);
  try {
    reader->Update();
  } catch (const itk::ExceptionObject& e) {
    throw Error(directory.string() + ": cannot read the DICOM series: " + e.GetDescription());
  }
  const Volume* volume = reader->GetOutput();
  const auto size = volume->GetLargestPossibleRegion().GetSize();
  Image image;
  image.source = directory.string();
  image.geometry =
      identity_geometry({static_cast<std::int64_t>(size[0]), static_cast<std::int64_t>(size[1]),
                         static_cast<std::int64_t>(size[2])});
  for (unsigned d = 0; d < 3; ++d) {
    image.geometry.spacing[d] = volume->GetSpacing()[d];
    image.geometry.origin[d] = volume->GetOrigin()[d];
    for (unsigned c = 0; c < 3; ++c)
      image.geometry.direction[d * 3 + c] = volume->GetDirection()[d][c];
  }
  image.data = torch::from_blob(const_cast<float*>(volume->GetBufferPointer()),
                                buffer_shape(image.geometry, 1), torch::kFloat32)
                   .clone();
  return image;
}

}  // namespace samri::io::detail
