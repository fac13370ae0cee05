//! The exec stage: the image that performs every `execve` into a container's
//! program (init's, exec's, and hooks run from inside the container).
//!
//! berth forks without re-exec, so without this stage the process that calls
//! `execve` would still be the host's berth binary, and a `#!/proc/self/exe`
//! script (or a binfmt_misc entry) would make the kernel run that host file
//! inside the container, where it could be reopened for writing through
//! `/proc/PID/exe` (CVE-2019-5736). Instead the launcher execs this stage, a
//! 471-byte static x86_64 program held in a sealed memfd, which then execs
//! the program. While the program's `execve` runs, `/proc/self/exe` is the
//! sealed memfd: nothing can write it, and it is not a host file.
//!
//! The stage's argv is `[MARKER, status fd, path, program argv...]`:
//! - it refuses to run (exit 127, one line on stderr) unless argv[0] is
//!   MARKER, which contains a space and so can never be an interpreter named
//!   on a `#!` line: a script naming `/proc/self/exe` ends there instead of
//!   looping;
//! - the status fd (decimal, or empty for none) is a SOCK_SEQPACKET end of the
//!   launcher's channel. The stage marks it close-on-exec, so a successful
//!   `execve` closes it (the launcher sees end of stream), and on failure
//!   sends `[Tag::ExecFailed, errno as u32 LE]` and exits 255.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

use crate::process::Program;
use crate::{sys, Error, Result};

#[cfg(not(target_arch = "x86_64"))]
compile_error!("berth's exec stage is written for x86_64 only");

/// argv[0] of the stage. The space keeps a `#!` line from ever producing it.
pub const MARKER: &CStr = c"berth exec";

/// Tag byte of the stage's failure message (shared with `sync::Tag::ExecFailed`).
pub(crate) const EXEC_FAILED_TAG: u8 = 9;

const REFUSAL: &[u8] = b"berth: refusing to run the exec stage as an interpreter\n";

/// Where the kernel maps the image (ET_EXEC, above vm.mmap_min_addr).
const BASE: u64 = 0x40_0000;
const ELF_HEADER: usize = 64;
const PROGRAM_HEADER: usize = 56;
const HEADERS: usize = ELF_HEADER + 2 * PROGRAM_HEADER;

/// The machine code, assembled from the listing beside it. Two rip-relative
/// `lea`s reach MARKER (placed right after CODE) and REFUSAL (right after MARKER);
/// the assertions below keep those offsets true.
#[rustfmt::skip]
const CODE: [u8; 0xe4] = [
    0x48, 0x89, 0xe3,                         // 00 mov  rbx, rsp            ; rbx -> argc, argv, NULL, envp
    0x48, 0x8b, 0x0b,                         // 03 mov  rcx, [rbx]          ; argc
    0x48, 0x83, 0xf9, 0x04,                   // 06 cmp  rcx, 4              ; marker, fd, path, argv[0] at least
    0x0f, 0x82, 0xb0, 0x00, 0x00, 0x00,       // 0a jb   refuse
    0x48, 0x8b, 0x73, 0x08,                   // 10 mov  rsi, [rbx+8]        ; argv[0]
    0x48, 0x8d, 0x3d, 0xc9, 0x00, 0x00, 0x00, // 14 lea  rdi, [rip+MARKER]
    0x8a, 0x07,                               // 1b cmp: mov al, [rdi]
    0x3a, 0x06,                               // 1d cmp  al, [rsi]
    0x0f, 0x85, 0x9b, 0x00, 0x00, 0x00,       // 1f jne  refuse
    0x48, 0xff, 0xc7,                         // 25 inc  rdi
    0x48, 0xff, 0xc6,                         // 28 inc  rsi
    0x84, 0xc0,                               // 2b test al, al
    0x75, 0xec,                               // 2d jnz  cmp
    0x48, 0x8b, 0x73, 0x10,                   // 2f mov  rsi, [rbx+16]       ; argv[1]: status fd
    0x49, 0xc7, 0xc4, 0xff, 0xff, 0xff, 0xff, // 33 mov  r12, -1             ; none
    0x80, 0x3e, 0x00,                         // 3a cmp  byte [rsi], 0
    0x74, 0x37,                               // 3d je   run
    0x45, 0x31, 0xe4,                         // 3f xor  r12d, r12d
    0x0f, 0xb6, 0x06,                         // 42 dec: movzx eax, byte [rsi]
    0x85, 0xc0,                               // 45 test eax, eax
    0x74, 0x14,                               // 47 jz   cloexec
    0x83, 0xe8, 0x30,                         // 49 sub  eax, '0'
    0x83, 0xf8, 0x09,                         // 4c cmp  eax, 9
    0x77, 0x6f,                               // 4f ja   refuse
    0x4d, 0x6b, 0xe4, 0x0a,                   // 51 imul r12, r12, 10
    0x49, 0x01, 0xc4,                         // 55 add  r12, rax
    0x48, 0xff, 0xc6,                         // 58 inc  rsi
    0xeb, 0xe5,                               // 5b jmp  dec
    0xb8, 0x48, 0x00, 0x00, 0x00,             // 5d cloexec: mov eax, SYS_fcntl
    0x4c, 0x89, 0xe7,                         // 62 mov  rdi, r12
    0xbe, 0x02, 0x00, 0x00, 0x00,             // 65 mov  esi, F_SETFD
    0xba, 0x01, 0x00, 0x00, 0x00,             // 6a mov  edx, FD_CLOEXEC
    0x0f, 0x05,                               // 6f syscall
    0x48, 0x85, 0xc0,                         // 71 test rax, rax
    0x75, 0x17,                               // 74 jnz  report           ; never exec with the fd open
    0xb8, 0x3b, 0x00, 0x00, 0x00,             // 76 run: mov eax, SYS_execve
    0x48, 0x8b, 0x7b, 0x18,                   // 7b mov  rdi, [rbx+24]       ; path
    0x48, 0x8d, 0x73, 0x20,                   // 7f lea  rsi, [rbx+32]       ; &argv[3]
    0x48, 0x8b, 0x0b,                         // 83 mov  rcx, [rbx]
    0x48, 0x8d, 0x54, 0xcb, 0x10,             // 86 lea  rdx, [rbx+rcx*8+16] ; envp
    0x0f, 0x05,                               // 8b syscall
    0xf7, 0xd8,                               // 8d report: neg eax         ; errno
    0x48, 0x83, 0xec, 0x10,                   // 8f sub  rsp, 16
    0xc6, 0x04, 0x24, 0x09,                   // 93 mov  byte [rsp], EXEC_FAILED_TAG
    0x89, 0x44, 0x24, 0x01,                   // 97 mov  [rsp+1], eax
    0xb8, 0x2c, 0x00, 0x00, 0x00,             // 9b mov  eax, SYS_sendto
    0x4c, 0x89, 0xe7,                         // a0 mov  rdi, r12
    0x48, 0x89, 0xe6,                         // a3 mov  rsi, rsp
    0xba, 0x05, 0x00, 0x00, 0x00,             // a6 mov  edx, 5
    0x41, 0xba, 0x00, 0x40, 0x00, 0x00,       // ab mov  r10d, MSG_NOSIGNAL  ; the launcher may be gone
    0x45, 0x31, 0xc0,                         // b1 xor  r8d, r8d
    0x45, 0x31, 0xc9,                         // b4 xor  r9d, r9d
    0x0f, 0x05,                               // b7 syscall
    0xbf, 0xff, 0x00, 0x00, 0x00,             // b9 mov  edi, 255
    0xeb, 0x1d,                               // be jmp  exit
    0xb8, 0x01, 0x00, 0x00, 0x00,             // c0 refuse: mov eax, SYS_write
    0xbf, 0x02, 0x00, 0x00, 0x00,             // c5 mov  edi, 2
    0x48, 0x8d, 0x35, 0x1e, 0x00, 0x00, 0x00, // ca lea  rsi, [rip+REFUSAL]
    0xba, 0x38, 0x00, 0x00, 0x00,             // d1 mov  edx, len(REFUSAL)
    0x0f, 0x05,                               // d6 syscall
    0xbf, 0x7f, 0x00, 0x00, 0x00,             // d8 mov  edi, 127
    0xb8, 0xe7, 0x00, 0x00, 0x00,             // dd exit: mov eax, SYS_exit_group
    0x0f, 0x05,                               // e2 syscall
];

const _: () = {
    // lea at 0x14 (next insn 0x1b) + 0xc9 = MARKER; lea at 0xca (next 0xd1) + 0x1e = REFUSAL.
    assert!(0x1b + 0xc9 == CODE.len());
    assert!(0xd1 + 0x1e == CODE.len() + MARKER.to_bytes_with_nul().len());
    assert!(REFUSAL.len() == 0x38);
    assert!(CODE[0x96] == EXEC_FAILED_TAG);
};

/// The whole ELF file: header, PT_LOAD of the file itself, PT_GNU_STACK, code, strings.
pub fn image() -> Vec<u8> {
    let total = HEADERS + CODE.len() + MARKER.to_bytes_with_nul().len() + REFUSAL.len();
    let mut v = Vec::with_capacity(total);
    // e_ident: ELF, 64-bit, little endian, version 1, System V ABI.
    v.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    v.extend_from_slice(&2u16.to_le_bytes()); // e_type: ET_EXEC
    v.extend_from_slice(&0x3eu16.to_le_bytes()); // e_machine: x86-64
    v.extend_from_slice(&1u32.to_le_bytes()); // e_version
    v.extend_from_slice(&(BASE + HEADERS as u64).to_le_bytes()); // e_entry: CODE
    v.extend_from_slice(&(ELF_HEADER as u64).to_le_bytes()); // e_phoff
    v.extend_from_slice(&0u64.to_le_bytes()); // e_shoff: no sections
    v.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    v.extend_from_slice(&(ELF_HEADER as u16).to_le_bytes()); // e_ehsize
    v.extend_from_slice(&(PROGRAM_HEADER as u16).to_le_bytes()); // e_phentsize
    v.extend_from_slice(&2u16.to_le_bytes()); // e_phnum
    v.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx
                                  // PT_LOAD, read + execute: the whole file at BASE.
    v.extend_from_slice(&1u32.to_le_bytes());
    v.extend_from_slice(&5u32.to_le_bytes());
    for field in [0, BASE, BASE, total as u64, total as u64, 0x1000] {
        v.extend_from_slice(&field.to_le_bytes());
    }
    // PT_GNU_STACK, read + write: a stack that is not executable.
    v.extend_from_slice(&0x6474_e551u32.to_le_bytes());
    v.extend_from_slice(&6u32.to_le_bytes());
    for field in [0u64, 0, 0, 0, 0, 16] {
        v.extend_from_slice(&field.to_le_bytes());
    }
    debug_assert_eq!(v.len(), HEADERS);
    v.extend_from_slice(&CODE);
    v.extend_from_slice(MARKER.to_bytes_with_nul());
    v.extend_from_slice(REFUSAL);
    v
}

/// The stage in a sealed memfd, ready to exec. Made before seccomp is
/// installed, since a profile may deny memfd_create.
pub struct ExecStage {
    memfd: OwnedFd,
}

impl ExecStage {
    pub fn new() -> Result<ExecStage> {
        let memfd = sys::memfd_create(c"berth-exec", libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
            .map_err(|e| Error::sys("memfd_create for the exec stage", e))?;
        let raw = memfd.as_raw_fd();
        let img = image();
        let written =
            nix::unistd::write(&memfd, &img).map_err(|e| Error::sys("write the exec stage", e))?;
        if written != img.len() {
            return Err(Error::Init("short write of the exec stage".into()));
        }
        let seals =
            libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
        // SAFETY: F_ADD_SEALS takes an int of seal bits.
        if unsafe { libc::fcntl(raw, libc::F_ADD_SEALS, seals) } != 0 {
            return Err(Error::sys("seal the exec stage", nix::errno::Errno::last()));
        }
        Ok(ExecStage { memfd })
    }

    /// The stage's argv and envp for running `prog`, reporting to `status`.
    fn arguments(prog: &Program, status: Option<RawFd>) -> Result<(Vec<CString>, Vec<CString>)> {
        let fd = status.map(|f| f.to_string()).unwrap_or_default();
        let path = CString::new(prog.path.as_os_str().as_bytes())
            .map_err(|_| Error::invalid("program", prog.path.display(), "contains a NUL byte"))?;
        let mut argv = vec![MARKER.to_owned(), CString::new(fd).expect("digits")];
        argv.push(path);
        argv.extend(prog.argv.iter().cloned());
        Ok((argv, prog.envp.clone()))
    }

    pub fn as_raw_fd(&self) -> RawFd {
        self.memfd.as_raw_fd()
    }

    /// Everything the exec of the stage for `prog` needs, built now so that
    /// running it allocates nothing (it may run between fork and exec).
    pub fn prepared(&self, prog: &Program, status: Option<RawFd>) -> Result<PreparedExec> {
        let (argv, envp) = Self::arguments(prog, status)?;
        let argv_ptrs = pointers(&argv);
        let envp_ptrs = pointers(&envp);
        let fd = self.memfd.as_raw_fd();
        Ok(PreparedExec {
            memfd: fd,
            fd_path: CString::new(format!("/proc/self/fd/{fd}")).expect("digits"),
            _strings: (argv, envp),
            argv: argv_ptrs,
            envp: envp_ptrs,
        })
    }

    /// Replaces this process with the stage, which execs `prog`; `status` (a
    /// channel end) hears about an execve failure. Only returns on failure.
    pub fn exec(&self, prog: &Program, status: Option<RawFd>) -> Error {
        let exec = match self.prepared(prog, status) {
            Ok(e) => e,
            Err(e) => return e,
        };
        if let Some(fd) = status {
            // The stage sets it again, so only it and no program sees this fd.
            // SAFETY: F_SETFD on an fd this process owns.
            unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
        }
        let err = exec.run();
        if let Some(fd) = status {
            // SAFETY: as above.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        Error::sys(
            format!("exec {} through the exec stage", prog.path.display()),
            err,
        )
    }
}

/// An exec of the stage with its argv and envp arrays already built.
pub struct PreparedExec {
    memfd: RawFd,
    /// `/proc/self/fd/<memfd>`, for the execve fallback.
    fd_path: CString,
    /// Owns the strings the pointer arrays point into.
    _strings: (Vec<CString>, Vec<CString>),
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
}

// SAFETY: the pointers only point into `_strings`, which moves with them and is never changed.
unsafe impl Send for PreparedExec {}
// SAFETY: as above; nothing is written through the pointers.
unsafe impl Sync for PreparedExec {}

impl PreparedExec {
    /// execveat(memfd, "", AT_EMPTY_PATH), else execve of /proc/self/fd/N for a
    /// seccomp profile that denies execveat. Returns the first failure's errno.
    /// Allocation-free, so it can run in a `pre_exec` closure.
    pub fn run(&self) -> nix::errno::Errno {
        let (fd, argv, envp) = (self.memfd, &self.argv, &self.envp);
        let first = sys::execveat_fd(fd, argv, envp);
        sys::execve(&self.fd_path, argv, envp);
        first
    }
}

/// NULL-terminated pointer array over `items` (which must outlive it).
pub(crate) fn pointers(items: &[CString]) -> Vec<*const libc::c_char> {
    items
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_is_a_small_static_elf() {
        let img = image();
        assert_eq!(&img[..4], b"\x7fELF");
        assert_eq!(img.len(), 471);
        let entry = u64::from_le_bytes(img[24..32].try_into().unwrap());
        assert_eq!(entry, BASE + HEADERS as u64);
        // The marker sits where the code's lea reaches.
        let m = HEADERS + CODE.len();
        assert_eq!(&img[m..m + 11], b"berth exec\0");
    }
}
