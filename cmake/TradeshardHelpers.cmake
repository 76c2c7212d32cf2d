# Small helpers that give every target the same warnings and, on request, sanitizers.
option(TRADESHARD_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)

function(tradeshard_target_defaults target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  if(TRADESHARD_SANITIZE)
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
