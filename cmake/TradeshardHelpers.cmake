# Small helpers that give every target the same warnings and, on request, sanitizers.
option(TRADESHARD_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
# libFuzzer build (tests/fuzz, `make fuzz`, own build dir build-fuzz): clang only. Every target's
# code is instrumented for coverage (fuzzer-no-link) and built with ASan+UBSan; the fuzz
# executables link libFuzzer's main (tradeshard_fuzz_target below).
option(TRADESHARD_FUZZ "Build the libFuzzer targets of tests/fuzz (clang, ASan+UBSan)" OFF)

function(tradeshard_target_defaults target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  if(TRADESHARD_FUZZ)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  elseif(TRADESHARD_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# One doctest executable per tests/<module>/ folder, registered with CTest.
function(tradeshard_module_tests module)
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/${module}/*.cpp)
  if(NOT sources)
    return()
  endif()
  set(target test_${module})
  # doctest's main is compiled once for every test executable (it takes ~12 s on its own).
  if(NOT TARGET tradeshard_doctest_main)
    add_library(tradeshard_doctest_main STATIC ${PROJECT_SOURCE_DIR}/tests/doctest_main.cpp)
    tradeshard_target_defaults(tradeshard_doctest_main)
    target_link_libraries(tradeshard_doctest_main PUBLIC doctest::doctest)
  endif()
  add_executable(${target} ${sources})
  tradeshard_target_defaults(${target})
  target_link_libraries(${target} PRIVATE tradeshard_doctest_main ${ARGN})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  add_test(NAME ${module} COMMAND ${target})
  set_tests_properties(${module} PROPERTIES TIMEOUT 300 LABELS ${module})
endfunction()

# One libFuzzer executable per tests/fuzz/<name>_fuzz.cpp: fuzz_<name>. Sources may include the
# private headers of src/ (the fuzzers drive the same code paths as the sessions).
function(tradeshard_fuzz_target src)
  get_filename_component(name ${src} NAME_WE)
  string(REPLACE "_fuzz" "" name ${name})
  set(target fuzz_${name})
  add_executable(${target} ${src})
  tradeshard_target_defaults(${target})
  target_link_libraries(${target} PRIVATE ${ARGN})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(${target} PRIVATE TRADESHARD_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  target_link_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
endfunction()
