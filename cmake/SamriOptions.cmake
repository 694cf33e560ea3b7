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

# samri_add_library(NAME SOURCES ... ) : a layer library with the project's include dirs.
function(samri_torch_pch target)
  if(SAMRI_USE_PCH)
    target_precompile_headers(${target} PRIVATE <torch/torch.h>)
  endif()
endfunction()

# samri_add_layer(NAME) : a library of every .cpp in the calling folder (one folder per layer).
function(samri_add_layer name)
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  add_library(${name} ${sources})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${name} PRIVATE samri_warnings)
endfunction()
