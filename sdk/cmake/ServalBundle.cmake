# serval_add_bundle(NAME
#                   SOURCES src...
#                   [WEB_XML path/to/web.xml] the bundle's WEB-INF/web.xml; without it an empty
#                                             <web-app/> (the app declares everything in code)
#                   [STATIC_DIR dir]          files served as they are (index.html, css, ...)
#                   [MIGRATIONS_DIR dir]      the schema migrations (V1__create_tables.sql, ...):
#                                             WEB-INF/migrations, applied by the deployer
#                                             (docs/datasource.md)
#                   [LIBRARIES lib...]        extra libraries to link (privately)
#                   [HELPERS target...]       shared libraries of your project the app links: built
#                                             into the bundle's WEB-INF/lib beside it and found there
#                                             (RUNPATH $ORIGIN). They must not export the entry, and
#                                             their file names should be the app's own (libshop-util.so):
#                                             the dynamic linker shares libraries by name, so the
#                                             container refuses a bundle whose helper differs from
#                                             one another bundle already loaded under that name
#                   [C])                      a pure C app: link as C, no C++ runtime
#
# Builds the app as a MODULE library libNAME.so with hidden visibility
# (-fvisibility=hidden -fvisibility-inlines-hidden), immediate binding (-z now), no undefined
# symbols (-z defs: a symbol no linked library defines fails the build, not the deploy) and a
# version script exporting only serval_app_init_v1, then produces, in
# SERVAL_BUNDLE_OUTPUT_DIRECTORY (default: <build>/bundles):
#   NAME/        the exploded bundle: WEB-INF/web.xml, WEB-INF/lib/libNAME.so, static files
#   NAME.sar     the same as a zip archive, ready for a Host's appBase (webapps/)
# The target NAME_bundle (part of ALL) builds both.
include_guard(GLOBAL)

function(serval_add_bundle name)
  cmake_parse_arguments(B "C" "WEB_XML;STATIC_DIR;MIGRATIONS_DIR" "SOURCES;LIBRARIES;HELPERS" ${ARGN})
  if(NOT B_SOURCES)
    message(FATAL_ERROR "serval_add_bundle(${name}): SOURCES is required")
  endif()
  if(B_WEB_XML)
    get_filename_component(web_xml "${B_WEB_XML}" ABSOLUTE)
  else()
    # A bundle always carries a descriptor (the deployer knows an app by it, and it is where an
    # operator overrides what the code declares); this one says nothing.
    set(web_xml "${CMAKE_CURRENT_BINARY_DIR}/${name}.web.xml")
    file(GENERATE OUTPUT "${web_xml}" CONTENT "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<!-- Written by serval_add_bundle(): ${name} declares its servlets, filters and listeners in code.
     Give serval_add_bundle() a WEB_XML to override them (docs/sdk.md). -->
<web-app/>
")
  endif()
  set(out_dir "${SERVAL_BUNDLE_OUTPUT_DIRECTORY}")
  set(exploded "${out_dir}/${name}")
  set(sar "${out_dir}/${name}.sar")

  add_library(${name} MODULE ${B_SOURCES})
  target_link_libraries(${name} PRIVATE Serval::sdk ${B_LIBRARIES} ${B_HELPERS})
  foreach(helper IN LISTS B_HELPERS)
    set_target_properties(${helper} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${exploded}/WEB-INF/lib")
  endforeach()
  if(B_HELPERS)
    # The helpers sit beside the app library wherever the bundle is unpacked.
    set_target_properties(${name} PROPERTIES BUILD_RPATH "$ORIGIN" BUILD_RPATH_USE_ORIGIN ON SKIP_BUILD_RPATH OFF)
  endif()
  set_target_properties(${name} PROPERTIES
    PREFIX "lib"
    OUTPUT_NAME "${name}"
    LIBRARY_OUTPUT_DIRECTORY "${exploded}/WEB-INF/lib"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS "${SERVAL_SDK_EXPORT_MAP}")
  if(B_C)
    set_target_properties(${name} PROPERTIES LINKER_LANGUAGE C)
  endif()
  target_compile_options(${name} PRIVATE -fvisibility=hidden $<$<COMPILE_LANGUAGE:CXX>:-fvisibility-inlines-hidden>)
  target_link_options(${name} PRIVATE -Wl,-z,now -Wl,-z,defs "-Wl,--version-script=${SERVAL_SDK_EXPORT_MAP}")

  # Static files, relative to STATIC_DIR; listed at configure time (re-globbed on change).
  set(static_files "")
  set(static_deps "")
  set(copy_static "")
  if(B_STATIC_DIR)
    get_filename_component(static_dir "${B_STATIC_DIR}" ABSOLUTE)
    file(GLOB_RECURSE static_files CONFIGURE_DEPENDS RELATIVE "${static_dir}" "${static_dir}/*")
    foreach(f IN LISTS static_files)
      list(APPEND static_deps "${static_dir}/${f}")
    endforeach()
    set(copy_static COMMAND ${CMAKE_COMMAND} -E copy_directory "${static_dir}" "${exploded}")
  endif()
  set(copy_migrations "")
  if(B_MIGRATIONS_DIR)
    get_filename_component(migrations_dir "${B_MIGRATIONS_DIR}" ABSOLUTE)
    file(GLOB migration_files CONFIGURE_DEPENDS "${migrations_dir}/*")
    list(APPEND static_deps ${migration_files})
    set(copy_migrations COMMAND ${CMAKE_COMMAND} -E rm -rf "${exploded}/WEB-INF/migrations"
        COMMAND ${CMAKE_COMMAND} -E copy_directory "${migrations_dir}" "${exploded}/WEB-INF/migrations")
  endif()
  # Top-level entries of the archive: WEB-INF plus each top-level static entry.
  set(entries WEB-INF)
  foreach(f IN LISTS static_files)
    string(REGEX REPLACE "/.*" "" top "${f}")
    list(APPEND entries "${top}")
  endforeach()
  list(REMOVE_DUPLICATES entries)

  add_custom_command(
    OUTPUT "${sar}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${exploded}/WEB-INF/lib"
    COMMAND ${CMAKE_COMMAND} -E copy_if_different "${web_xml}" "${exploded}/WEB-INF/web.xml"
    ${copy_static}
    ${copy_migrations}
    COMMAND ${CMAKE_COMMAND} -E rm -f "${sar}"
    COMMAND ${CMAKE_COMMAND} -E tar cf "${sar}" --format=zip -- ${entries}
    WORKING_DIRECTORY "${exploded}"
    DEPENDS ${name} ${B_HELPERS} "${web_xml}" ${static_deps}
    COMMENT "Packing bundle ${name}.sar"
    VERBATIM)
  add_custom_target(${name}_bundle ALL DEPENDS "${sar}")
endfunction()
