# The layering of container/ as data, checked when CMake configures (nginx-style: the table
# is the rule). container/CMakeLists.txt declares each room and what it may link; the
# top-level CMakeLists.txt calls serval_check_layering() once every target exists.
#
#   serval_room(NAME [DEPS...])        serval_NAME may link serval_DEP directly, nothing else
#                                      of serval_*; third-party targets are not checked, nor
#                                      a room whose target does not exist (yet)
#   serval_forbid(TARGET [NEVER...])   TARGET must not reach any NEVER, directly or through
#                                      any chain of links; rules for a TARGET that does not
#                                      exist (yet) are skipped
#   serval_check_layering()            fails the configure step with one line per breach

function(serval_room name)
  set_property(GLOBAL APPEND PROPERTY SERVAL_ROOMS ${name})
  set_property(GLOBAL PROPERTY SERVAL_ROOM_${name} ${ARGN})
endfunction()

function(serval_forbid target)
  set_property(GLOBAL APPEND PROPERTY SERVAL_FORBIDDEN_FROM ${target})
  set_property(GLOBAL PROPERTY SERVAL_FORBIDDEN_${target} ${ARGN})
endfunction()

# The targets `target` links directly (private ones too: a static library's private links
# still end up in every binary that links it), ALIASes resolved, imported targets and plain
# flags dropped.
function(_serval_direct_links target out)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    get_target_property(links ${target} INTERFACE_LINK_LIBRARIES)
  else()
    get_target_property(links ${target} LINK_LIBRARIES)
  endif()
  set(result "")
  foreach(link IN LISTS links)
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" link "${link}")
    if(NOT TARGET "${link}")
      continue()
    endif()
    get_target_property(aliased ${link} ALIASED_TARGET)
    if(aliased)
      set(link ${aliased})
    endif()
    get_target_property(imported ${link} IMPORTED)
    if(NOT imported)
      list(APPEND result ${link})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES result)
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

function(serval_check_layering)
  set(breaches "")
  get_property(rooms GLOBAL PROPERTY SERVAL_ROOMS)
  foreach(room IN LISTS rooms)
    if(NOT TARGET serval_${room})
      continue()
    endif()
    get_property(allowed GLOBAL PROPERTY SERVAL_ROOM_${room})
    _serval_direct_links(serval_${room} links)
    foreach(link IN LISTS links)
      string(REGEX MATCH "^serval_(.*)$" matched "${link}")
      if(NOT matched OR NOT CMAKE_MATCH_1 IN_LIST rooms)
        continue()
      endif()
      if(NOT CMAKE_MATCH_1 IN_LIST allowed)
        list(APPEND breaches "serval_${room} links ${link}, which its room may not use")
      endif()
    endforeach()
  endforeach()

  get_property(sources GLOBAL PROPERTY SERVAL_FORBIDDEN_FROM)
  foreach(source IN LISTS sources)
    if(NOT TARGET ${source})
      continue()
    endif()
    get_property(never GLOBAL PROPERTY SERVAL_FORBIDDEN_${source})
    # Breadth-first over the link graph; `via_X` remembers how X was reached.
    set(queue ${source})
    set(seen ${source})
    set(via_${source} ${source})
    while(queue)
      list(POP_FRONT queue current)
      _serval_direct_links(${current} links)
      foreach(link IN LISTS links)
        if(link IN_LIST seen)
          continue()
        endif()
        list(APPEND seen ${link})
        set(via_${link} "${via_${current}} -> ${link}")
        if(link IN_LIST never)
          list(APPEND breaches "${source} must never link ${link}, but does: ${via_${link}}")
        endif()
        list(APPEND queue ${link})
      endforeach()
    endwhile()
  endforeach()

  if(breaches)
    list(JOIN breaches "\n  " text)
    message(FATAL_ERROR "layering (container/CMakeLists.txt):\n  ${text}")
  endif()
endfunction()
