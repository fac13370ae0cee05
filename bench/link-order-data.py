#!/usr/bin/env python3
"""Prints the linker script that lays the read-only data of berth's hot
functions at the start of .rodata (bench/link-order.sh writes it to
crates/berth-cli/link-order.ld).

Usage: link-order-data.py PROBE MAP ORDER

PROBE is a berth binary linked with --emit-relocs, MAP its lld -Map file, ORDER
the hot functions (link-order.txt). The hot data is found statically: every
.rodata input section that a hot function's code refers to, directly or through
a chain of .rodata/.data.rel.ro tables (format pieces, switch tables), in the
order the functions come. The compiler's string and constant data have no
symbols, so --symbol-ordering-file cannot place them; lld takes their section
names from a linker script instead. Without this the few KiB of data the hot
code reads lie scattered over all of .rodata, and each read maps its own
64 KiB window.
"""
import bisect
import re
import struct
import sys

probe, map_file, order_file = sys.argv[1:4]
elf = open(probe, "rb").read()

# Section headers, by name.
shoff = struct.unpack_from("<Q", elf, 0x28)[0]
shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
headers = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
names_at = headers[shstrndx][4]


def cstr(at):
    return elf[at : elf.index(b"\0", at)].decode(errors="replace")


sections = {cstr(names_at + h[0]): h for h in headers}
# Symbols: (value, type, section index).
symtab = sections[".symtab"]
strtab = headers[symtab[6]][4]
symbols = []
functions = {}
for i in range(symtab[5] // 24):
    name, info, _, shndx, value, size = struct.unpack_from("<IBBHQQ", elf, symtab[4] + i * 24)
    symbols.append((value, info & 0xF, shndx))
    if info & 0xF == 2:  # STT_FUNC
        functions.setdefault(cstr(strtab + name), (value, size))

PC_RELATIVE = {2, 4, 9, 24, 26, 41, 42}  # PC32 PLT32 GOTPCREL PC64 GOTPC32 GOTPCRELX REX_GOTPCRELX


def relocations(name, in_code):
    """(place, address referred to) of every relocation in the output section `name`."""
    header = sections.get(".rela" + name)
    out = []
    for i in range(header[5] // 24 if header else 0):
        place, info, addend = struct.unpack_from("<QQq", elf, header[4] + i * 24)
        value, kind, shndx = symbols[info >> 32]
        if kind == 3:  # STT_SECTION
            value = headers[shndx][3]
        rtype = info & 0xFFFFFFFF
        if in_code:
            # The addend of a rip-relative operand is -4: the field ends 4 bytes on.
            out.append((place, value + addend + (4 if rtype in PC_RELATIVE else 0), False))
        else:
            # PC32 in data: a relative switch table's entry (target - table start),
            # resolved against the table's start once the section is known.
            out.append((place, value + addend, rtype == 2))
    out.sort()
    return out, [r[0] for r in out]


code_refs = relocations(".text", True)
data_refs = {n: relocations(n, False) for n in (".rodata", ".data.rel.ro")}

# Input sections of .rodata and .data.rel.ro from the map: (start, size, output, name).
inputs = []
output = None
for line in open(map_file):
    f = line.split(None, 4)
    if len(f) < 5 or not re.fullmatch(r"[0-9a-f]+", f[0]) or not re.fullmatch(r"[0-9a-f]+", f[2]):
        continue
    if f[4].startswith("."):
        output = f[4].strip()
    elif output in data_refs and int(f[2], 16):
        m = re.search(r":\((.*)\)$", f[4].strip())
        if m:
            inputs.append((int(f[0], 16), int(f[2], 16), output, m.group(1)))
inputs.sort()
starts = [s[0] for s in inputs]


def section_at(address):
    i = bisect.bisect_right(starts, address) - 1
    if i >= 0 and address < inputs[i][0] + inputs[i][1]:
        return inputs[i]
    return None


def refs_in(start, size, refs):
    table, places = refs
    i = bisect.bisect_left(places, start)
    while i < len(table) and table[i][0] < start + size:
        place, target, table_relative = table[i]
        yield target - (place - start) if table_relative else target
        i += 1


hot = []  # .rodata input section names, in first-use order
merged = []  # lld's merged string/constant sections: every command reads them, so they go first
seen = set()
for name in open(order_file).read().split():
    if name not in functions:
        continue
    start, size = functions[name]
    todo = list(refs_in(start, size, code_refs))
    while todo:
        s = section_at(todo.pop())
        if s is None or s in seen:
            continue
        seen.add(s)
        if s[2] == ".rodata":
            (merged if re.fullmatch(r"\.rodata\.(str|cst)\d.*", s[3]) else hot).append(s[3])
        todo.extend(refs_in(s[0], s[1], data_refs[s[2]]))

print("/* Written by bench/link-order-data.py: the .rodata input sections berth's hot")
print("   functions read, first. Generated for one build; names not found are skipped. */")
print("SECTIONS {")
print("  .rodata : {")
for name in merged + hot:
    print(f"    *({name})")
print("  }")
print("} INSERT BEFORE .gcc_except_table;")
