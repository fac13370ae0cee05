# A static i386 program without libc, for the seccomp tests of 32-bit ABIs
# (tests/security.rs builds it with `as --32` and `ld -m elf_i386`). Every
# system call goes through `int $0x80`, so the kernel checks it against the
# filter's AUDIT_ARCH_I386 section. It prints:
#   i386 write ok     write(2) worked
#   getpid=N          getpid(2)'s answer
#   mkdir=E           mkdir("/tmp/i386-dir", 0755): 0 or the errno
#   unshare=E         unshare(0), which the kernel always grants: 0 or the errno
# and exits 0.

        .section .rodata
hello:  .ascii "i386 write ok\n"
        .set hello_len, . - hello
l_pid:  .ascii "getpid="
l_mkd:  .ascii "mkdir="
l_uns:  .ascii "unshare="
path:   .asciz "/tmp/i386-dir"

        .bss
digits: .skip 12

        .text
        .globl _start
_start:
        movl $4, %eax                   # write(1, hello, hello_len)
        movl $1, %ebx
        movl $hello, %ecx
        movl $hello_len, %edx
        int $0x80

        movl $l_pid, %ecx
        movl $7, %edx
        call label
        movl $20, %eax                  # getpid()
        int $0x80
        call number

        movl $l_mkd, %ecx
        movl $6, %edx
        call label
        movl $39, %eax                  # mkdir(path, 0755)
        movl $path, %ebx
        movl $0755, %ecx
        int $0x80
        negl %eax                       # -errno -> errno, 0 stays 0
        call number

        movl $l_uns, %ecx
        movl $8, %edx
        call label
        movl $310, %eax                 # unshare(0)
        xorl %ebx, %ebx
        int $0x80
        negl %eax
        call number

        movl $1, %eax                   # exit(0)
        xorl %ebx, %ebx
        int $0x80

# write(1, %ecx, %edx)
label:
        movl $4, %eax
        movl $1, %ebx
        int $0x80
        ret

# Prints %eax (unsigned) in decimal and a newline.
number:
        movl $digits+11, %edi
        movb $10, (%edi)                # '\n'
        movl $10, %ecx
1:      decl %edi
        xorl %edx, %edx
        divl %ecx
        addb $'0', %dl
        movb %dl, (%edi)
        testl %eax, %eax
        jnz 1b
        movl $4, %eax                   # write(1, %edi, digits+12-%edi)
        movl $1, %ebx
        movl %edi, %ecx
        movl $digits+12, %edx
        subl %edi, %edx
        int $0x80
        ret
