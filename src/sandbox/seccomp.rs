//! System-call filters for a suite run, compiled in the runner and
//! installed in the child just before exec. Everything is allowed but what
//! would let a run escape its process group, reach other processes, leave
//! its namespaces, or (unless its exercise needs them) open sockets and
//! start processes.

use super::Needs;
use anyhow::{Context, Result};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule,
};
use std::collections::BTreeMap;

/// System calls no suite needs, refused with EPERM: leaving the process
/// group (so the runner's kill reaches everything a run started), tracing
/// or reading other processes, namespaces and mounts, kernel facilities
/// that bypass the filter or the file rules, and changing a file's mode
/// (the suite binary is execute-only; its owner could make it readable).
const REFUSED: &[i64] = &[
    libc::SYS_setsid,
    libc::SYS_setpgid,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_pidfd_open,
    libc::SYS_pidfd_getfd,
    libc::SYS_pidfd_send_signal,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_kcmp,
    libc::SYS_name_to_handle_at,
    libc::SYS_open_by_handle_at,
    libc::SYS_fchmod,
    libc::SYS_fchmodat,
    libc::SYS_personality,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_chmod,
];

/// Whether the kernel supports seccomp filters: asking to install a null
/// filter fails with EFAULT where filters exist, EINVAL where they do not.
pub fn available() -> bool {
    // SAFETY: with a null program the kernel installs nothing; it only
    // checks the mode and then fails on the pointer.
    let result = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            std::ptr::null::<u8>(),
            0,
            0,
        )
    };
    result == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT)
}

/// The filters of a run with `needs`, in the order they are installed.
pub fn suite_filters(needs: Needs) -> Result<Vec<BpfProgram>> {
    let mut refused: BTreeMap<i64, Vec<SeccompRule>> =
        REFUSED.iter().map(|&call| (call, Vec::new())).collect();
    // kill(-1, …) signals every process the user may signal.
    refused.insert(
        libc::SYS_kill,
        vec![rule(&[(0, SeccompCmpOp::Eq, u64::from(u32::MAX))])?],
    );
    if needs.network {
        // Internet sockets only: no Unix sockets (a host's docker.sock),
        // no netlink, no raw packets.
        refused.insert(
            libc::SYS_socket,
            vec![rule(&[
                (0, SeccompCmpOp::Ne, libc::AF_INET as u64),
                (0, SeccompCmpOp::Ne, libc::AF_INET6 as u64),
            ])?],
        );
    } else {
        refused.insert(libc::SYS_socket, Vec::new());
    }
    if !needs.processes {
        // Threads, yes (a clone with CLONE_THREAD); processes, no.
        refused.insert(
            libc::SYS_clone,
            vec![rule(&[(
                0,
                SeccompCmpOp::MaskedEq(libc::CLONE_THREAD as u64),
                0,
            )])?],
        );
        #[cfg(target_arch = "x86_64")]
        {
            refused.insert(libc::SYS_fork, Vec::new());
            refused.insert(libc::SYS_vfork, Vec::new());
        }
    }
    let refuse = compile(refused, libc::EPERM)?;
    // clone3 passes its flags in memory a filter cannot read: answer that
    // it does not exist, and the C library falls back to clone, which the
    // filter above can judge.
    let no_clone3 = compile(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        libc::ENOSYS,
    )?;
    Ok(vec![refuse, no_clone3])
}

/// A rule that matches when every condition `(argument, comparison,
/// value)` holds, comparing 32-bit arguments.
fn rule(conditions: &[(u8, SeccompCmpOp, u64)]) -> Result<SeccompRule> {
    let conditions = conditions
        .iter()
        .map(|(arg, op, value)| {
            SeccompCondition::new(*arg, SeccompCmpArgLen::Dword, op.clone(), *value)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SeccompRule::new(conditions)?)
}

/// A filter that answers `errno` to the calls `rules` match and lets
/// everything else through.
fn compile(rules: BTreeMap<i64, Vec<SeccompRule>>, errno: i32) -> Result<BpfProgram> {
    let arch = std::env::consts::ARCH
        .try_into()
        .context("seccomp filters are not available on this processor")?;
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(errno as u32),
        arch,
    )?;
    Ok(filter.try_into()?)
}

/// Installs `filter` on the calling thread (and what it starts).
/// Async-signal-safe: two system calls on memory prepared before the fork.
pub fn install(filter: &BpfProgram) -> std::io::Result<()> {
    seccompiler::apply_filter(filter).map_err(|_| std::io::Error::last_os_error())
}
