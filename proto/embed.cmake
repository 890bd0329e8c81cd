# cmake -DIN=file -DOUT=file.c -P embed.cmake: writes IN's bytes as
#   const unsigned char ll_descriptor_set[]; const size_t ll_descriptor_set_len;
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" body "${body}")
file(WRITE ${OUT} "/* Generated from ${IN} by proto/embed.cmake. */\n#include <stddef.h>\n"
     "const unsigned char ll_descriptor_set[] = {\n${body}\n};\n"
     "const size_t ll_descriptor_set_len = ${len};\n")
