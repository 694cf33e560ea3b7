#include "samri/io/image_writer.h"

#include <itkImageIOBase.h>
#include <itkImageIOFactory.h>

#include <sstream>

#include "itk_reading.h"
#include "samri/core/atomic_file.h"
#include "samri/core/error.h"

namespace samri::io {

namespace fs = std::filesystem;

namespace {

itk::IOComponentEnum component_type(const torch::Tensor& data, const fs::path& path) {
  using C = itk::IOComponentEnum;
  switch (data.scalar_type()) {
    case torch::kUInt8:
      return C::UCHAR;
    case torch::kInt8:
      return C::CHAR;
    case torch::kInt16:
      return C::SHORT;
    case torch::kInt32:
      return C::INT;
    case torch::kInt64:
      return C::LONGLONG;
    case torch::kFloat32:
      return C::FLOAT;
    case torch::kFloat64:
      return C::DOUBLE;
    default:
      throw Error(path.string() + ": cannot write voxels of type " +
                  std::string(c10::toString(data.scalar_type())));
  }
}

void check_image(const Image& image, const fs::path& path) {
  const int dims = image.geometry.dimension();
  const Geometry& g = image.geometry;
  if (dims < 2 || dims > 4 || g.spacing.size() != g.size.size() ||
      g.origin.size() != g.size.size() || g.direction.size() != g.size.size() * g.size.size()) {
    throw Error(path.string() + ": cannot write an image with an inconsistent " +
                std::to_string(dims) + "-D geometry");
  }
  const auto shape = buffer_shape(g, image.components);
  if (!image.data.defined() || image.data.sizes() != torch::IntArrayRef(shape)) {
    std::ostringstream message;
    message << path.string() << ": voxel data of shape "
            << (image.data.defined() ? image.data.sizes() : torch::IntArrayRef{})
            << " does not match the geometry (expected " << torch::IntArrayRef(shape) << ")";
    throw Error(message.str());
  }
  for (const char* detached : {".nhdr", ".mhd", ".hdr", ".img", ".img.gz"}) {
    if (detail::ends_with(path.string(), detached)) {
      throw Error(path.string() +
                  ": formats with a separate data file cannot be written "
                  "atomically; use .nii.gz, .nrrd or .mha");
    }
  }
}

void describe_to_io(itk::ImageIOBase& io, const Image& image, const torch::Tensor& data,
                    const fs::path& path) {
  const Geometry& g = image.geometry;
  const unsigned dims = static_cast<unsigned>(g.dimension());
  io.SetNumberOfDimensions(dims);
  itk::ImageIORegion region(dims);
  for (unsigned d = 0; d < dims; ++d) {
    io.SetDimensions(d, static_cast<itk::SizeValueType>(g.size[d]));
    io.SetSpacing(d, g.spacing[d]);
    io.SetOrigin(d, g.origin[d]);
    std::vector<double> column(dims);
    for (unsigned r = 0; r < dims; ++r) column[r] = g.direction[r * dims + d];
    io.SetDirection(d, column);
    region.SetIndex(d, 0);
    region.SetSize(d, static_cast<itk::SizeValueType>(g.size[d]));
  }
  io.SetComponentType(component_type(data, path));
  io.SetNumberOfComponents(static_cast<unsigned>(image.components));
  io.SetPixelType(image.components == 1   ? itk::IOPixelEnum::SCALAR
                  : image.components == 3 ? itk::IOPixelEnum::RGB
                                          : itk::IOPixelEnum::VECTOR);
  io.SetIORegion(region);
  io.SetUseCompression(true);
}

}  // namespace

void write_image(const fs::path& path, const Image& image) {
  check_image(image, path);
  detail::register_itk_factories();
  const torch::Tensor data = image.data.to(torch::kCPU).contiguous();
  write_atomically(path, [&](const fs::path& tmp) {
    const auto io = itk::ImageIOFactory::CreateImageIO(
        tmp.c_str(), itk::ImageIOFactory::FileModeEnum::WriteMode);
    if (!io) {
      throw Error(path.string() +
                  ": no image writer for this file name (use .nii.gz, .nii, "
                  ".nrrd, .mha, .png, .jpg, .bmp or .tif)");
    }
    describe_to_io(*io, image, data, path);
    io->SetFileName(tmp.string());
    try {
      io->Write(data.data_ptr());
    } catch (const itk::ExceptionObject& e) {
      throw Error(path.string() + ": cannot write the image: " + e.GetDescription());
    }
  });
}

Image stack_2d_images(const std::vector<Image>& images) {
  if (images.empty()) throw Error("stack_2d_images: no images to stack");
  const Image& first = images.front();
  std::vector<torch::Tensor> slices;
  for (const Image& image : images) {
    if (image.geometry.dimension() != 2 || image.components != 1) {
      throw Error("stack_2d_images: only 2-D scalar images can be stacked");
    }
    const std::string mismatch = describe_geometry_mismatch(image.geometry, first.geometry, 0.0);
    if (!mismatch.empty()) throw Error("stack_2d_images: the images' grids differ: " + mismatch);
    slices.push_back(image.data);
  }
  const Geometry& g = first.geometry;
  Image stacked;
  stacked.geometry =
      identity_geometry({g.size[0], g.size[1], static_cast<std::int64_t>(images.size())});
  for (int d = 0; d < 2; ++d) {
    stacked.geometry.spacing[d] = g.spacing[d];
    stacked.geometry.origin[d] = g.origin[d];
    for (int c = 0; c < 2; ++c) stacked.geometry.direction[d * 3 + c] = g.direction[d * 2 + c];
  }
  stacked.data = torch::stack(slices, 0).contiguous();
  stacked.source = first.source;
  return stacked;
}

}  // namespace samri::io
