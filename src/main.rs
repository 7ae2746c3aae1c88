//! The `puqbackup` command: create, inspect, verify and restore backup
//! archives of a WireGuard VPN control panel, replay restore scenarios, and
//! serve the backups API.
//!
//! Exit status: 0 on success, 1 when an archive is refused or invalid, 2 for
//! usage errors and I/O failures.

mod cli;

#[global_allocator]
static ALLOCATOR: puqbackup::allocator::HugePageAllocator = puqbackup::allocator::HugePageAllocator;

fn main() -> std::process::ExitCode {
    cli::main()
}
