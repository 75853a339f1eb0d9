#  Lua scripts for Redis live in .lua files and are compiled into the
#  programs (no file is read at run time):
#
#    qy_embed_lua (TARGET NAME FILE)
#
#  adds to TARGET a C file defining `const char NAME []`, the script's bytes
#  NUL-terminated. Comment lines (a line that is only a "--" comment: the
#  header giving KEYS, ARGV and the reply, and the notes in the code) are
#  not sent: Redis gets the other lines byte for byte, so a script's SHA1
#  changes only when its code does. A comment after code on the same line
#  is code.
#
#  Run as a script (cmake -DIN=… -DOUT=… -DNAME=… -P qy_lua.cmake), it
#  writes that C file.
if(CMAKE_SCRIPT_MODE_FILE)
  file(READ "${IN}" text)
  string(REGEX REPLACE "^([ \t]*--[^\n]*\n)+" "" text "${text}")
  string(REGEX REPLACE "\n[ \t]*--[^\n]*" "" text "${text}")
  string(HEX "${text}" hex)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n    "
         bytes "${bytes}")
  get_filename_component(base "${IN}" NAME)
  file(WRITE "${OUT}.tmp" "//  Generated from ${base} by qy_lua.cmake: do not edit.\n"
                          "extern const char ${NAME} [];\n"
                          "const char ${NAME} [] = {\n    ${bytes}0x00\n};\n")
  file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
  file(REMOVE "${OUT}.tmp")
  return()
endif()

set(QY_LUA_EMBED "${CMAKE_CURRENT_LIST_FILE}" CACHE INTERNAL "the script that embeds Lua files")

function(qy_embed_lua target name file)
  get_filename_component(in "${file}" ABSOLUTE)
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${name}.c")
  add_custom_command(OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DIN=${in} -DOUT=${out} -DNAME=${name} -P ${QY_LUA_EMBED}
    DEPENDS "${in}" "${QY_LUA_EMBED}"
    COMMENT "Embedding ${file} as ${name}" VERBATIM)
  target_sources(${target} PRIVATE "${out}")
endfunction()
