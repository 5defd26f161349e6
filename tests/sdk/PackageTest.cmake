# Installs the build tree into a fresh prefix, then configures and builds the samples out of tree
# against it with find_package(Serval CONFIG), and checks the bundles they produce.
# Run by CTest: cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=... -P PackageTest.cmake
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
foreach(f include/serval/abi.h include/serval/servlet.hpp include/serval/http.hpp include/serval/json.hpp
          include/serval/html.hpp include/serval/security.hpp
          lib/cmake/Serval/ServalConfig.cmake lib/cmake/Serval/ServalConfigVersion.cmake
          lib/cmake/Serval/ServalTargets.cmake lib/cmake/Serval/ServalBundle.cmake lib/cmake/Serval/serval_app.map)
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "cmake --install did not install ${f}")
  endif()
endforeach()

foreach(example hello hello-c sessions)
  set(build "${WORK_DIR}/${example}")
  run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/sdk/examples/${example}" -B "${build}" -G "${GENERATOR}"
      "-DCMAKE_PREFIX_PATH=${prefix}")
  run(${CMAKE_COMMAND} --build "${build}")
  set(sar "${build}/bundles/${example}.sar")
  if(NOT EXISTS "${sar}")
    message(FATAL_ERROR "out-of-tree build of ${example} produced no ${sar}")
  endif()
  if(NOT EXISTS "${build}/bundles/${example}/WEB-INF/lib/lib${example}.so")
    message(FATAL_ERROR "out-of-tree build of ${example} produced no exploded bundle")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -E tar tf "${sar}" OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
  foreach(entry WEB-INF/web.xml WEB-INF/lib/lib${example}.so index.html)
    string(FIND "${listing}" "${entry}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "${example}.sar lacks ${entry}; it holds:\n${listing}")
    endif()
  endforeach()
endforeach()

# serval_add_bundle links with -z defs: a symbol no linked library defines fails the build (with
# the linker's demangled name), not the deploy. And without WEB_XML the bundle still carries a
# descriptor, an empty one: the code declares the servlets.
file(WRITE "${WORK_DIR}/undefined/CMakeLists.txt"
  "cmake_minimum_required(VERSION 3.25)\nproject(undefined LANGUAGES CXX)\nfind_package(Serval 1.1 CONFIG REQUIRED)\n"
  "serval_add_bundle(undefined SOURCES App.cpp)\n")
file(WRITE "${WORK_DIR}/undefined/App.cpp"
  "#include <serval/servlet.hpp>\nnamespace shop { int price(int cents); }\n"
  "class Home : public serval::HttpServlet {\npublic:\n"
  "  void doGet(serval::Request&, serval::Response& r) override { r.write(std::to_string(shop::price(1))); }\n};\n"
  "SERVAL_APP(\"undefined\") { app.servlet<Home>(\"home\", {\"\"}); }\n")
run(${CMAKE_COMMAND} -S "${WORK_DIR}/undefined" -B "${WORK_DIR}/undefined/build" -G "${GENERATOR}"
    "-DCMAKE_PREFIX_PATH=${prefix}")
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/undefined/build"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "a bundle with an undefined symbol linked: serval_add_bundle must link with -z defs")
endif()
string(FIND "${out}${err}" "undefined reference to `shop::price(int)'" at)
if(at EQUAL -1)
  message(FATAL_ERROR "the build failed without naming the undefined symbol:\n${out}\n${err}")
endif()
file(WRITE "${WORK_DIR}/undefined/App.cpp"
  "#include <serval/servlet.hpp>\n"
  "class Home : public serval::HttpServlet {\npublic:\n"
  "  void doGet(serval::Request&, serval::Response& r) override { r.write(\"home\"); }\n};\n"
  "SERVAL_APP(\"undefined\") { app.servlet<Home>(\"home\", {\"\"}); }\n")
run(${CMAKE_COMMAND} --build "${WORK_DIR}/undefined/build")
file(READ "${WORK_DIR}/undefined/build/bundles/undefined/WEB-INF/web.xml" descriptor)
string(FIND "${descriptor}" "<web-app/>" at)
if(at EQUAL -1)
  message(FATAL_ERROR "a bundle built without WEB_XML has no empty descriptor:\n${descriptor}")
endif()

# SameMajorVersion: asking for SDK 2 must fail against this 1.x package.
file(WRITE "${WORK_DIR}/wants2/CMakeLists.txt"
  "cmake_minimum_required(VERSION 3.25)\nproject(wants2 LANGUAGES CXX)\nfind_package(Serval 2.0 CONFIG REQUIRED)\n")
execute_process(COMMAND ${CMAKE_COMMAND} -S "${WORK_DIR}/wants2" -B "${WORK_DIR}/wants2/build" -G "${GENERATOR}"
                "-DCMAKE_PREFIX_PATH=${prefix}" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
if(rc EQUAL 0)
  message(FATAL_ERROR "find_package(Serval 2.0) accepted the 1.x SDK")
endif()
message(STATUS "installed SDK builds the samples out of tree")
