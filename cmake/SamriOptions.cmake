# Project-wide warning and build settings, applied per target (no global flags).
add_library(samri_warnings INTERFACE)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(samri_warnings INTERFACE -Wall -Wextra)
endif()

option(SAMRI_WERROR "Treat warnings as errors" OFF)
if(SAMRI_WERROR)
  target_compile_options(samri_warnings INTERFACE -Werror)
endif()

option(SAMRI_USE_PCH "Precompile the LibTorch headers (much faster builds)" ON)

# samri_torch_pch(TARGET) : compile TARGET with the project's one precompiled <torch/torch.h>.
# Every target compiling its own copy cost about half a minute each of a 2-core CI build; the
# flags that matter to the header (language standard, LibTorch's own) are the same everywhere.
function(samri_torch_pch target)
  if(NOT SAMRI_USE_PCH)
    return()
  endif()
  if(NOT TARGET samri_torch_pch_host)
    set(host_source ${PROJECT_BINARY_DIR}/generated/samri_torch_pch_host.cpp)
    file(WRITE ${host_source} "// Only here to own the precompiled LibTorch header.\n")
    add_library(samri_torch_pch_host OBJECT ${host_source})
    target_link_libraries(samri_torch_pch_host PRIVATE ${TORCH_LIBRARIES} samri_warnings)
    target_include_directories(samri_torch_pch_host PRIVATE ${TORCH_INCLUDE_DIRS})
    target_precompile_headers(samri_torch_pch_host PRIVATE <torch/torch.h>)
  endif()
  target_precompile_headers(${target} REUSE_FROM samri_torch_pch_host)
endfunction()

# samri_add_layer(NAME) : a library of every .cpp in the calling folder (one folder per layer).
function(samri_add_layer name)
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  add_library(${name} ${sources})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${name} PRIVATE samri_warnings)
endfunction()

# AddressSanitizer + UndefinedBehaviorSanitizer over everything this project compiles (LibTorch
# and ITK stay uninstrumented). The `sanitize` preset of CMakePresets.json builds and tests it.
option(SAMRI_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
if(SAMRI_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # The instrumentation makes GCC 12 report std::function members inside libstdc++'s <regex> as
  # maybe uninitialized (15 warnings from model_eval.cpp's one regex; none without sanitizers).
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-maybe-uninitialized)
  endif()
endif()
