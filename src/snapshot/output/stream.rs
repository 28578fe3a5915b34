//! Destinations written into rather than replaced: a FIFO, a character device, a Unix stream
//! socket. Opening one may wait (for a FIFO's reader, for room in a socket's backlog); it waits a
//! slice at a time and gives up once the abort flag is set.

use super::abortable::abort_error;
use crate::abort::AbortFlag;
use std::fs::{File, FileType, OpenOptions};
use std::io;
use std::mem;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::time::Duration;

/// How long to wait before trying again to open a FIFO without a reader, or to connect to a
/// socket whose backlog is full.
const RETRY_PAUSE: Duration = Duration::from_millis(20);

/// What kind of existing file a snapshot is written into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StreamKind {
    /// A named pipe: written once a reader opens it.
    Fifo,
    /// A character device (`/dev/null`, a terminal).
    CharDevice,
    /// A Unix socket: connected to as a stream.
    Socket,
}

impl StreamKind {
    /// The kind of a file of type `file_type`, if it is one written into.
    pub(super) fn of(file_type: FileType) -> Option<Self> {
        if file_type.is_fifo() {
            Some(Self::Fifo)
        } else if file_type.is_char_device() {
            Some(Self::CharDevice)
        } else if file_type.is_socket() {
            Some(Self::Socket)
        } else {
            None
        }
    }
}

/// Opens `path`, of kind `kind`, for writing, non-blocking (the writer polls): a FIFO once it has
/// a reader, a socket once connected. Fails if `path` is no longer of that kind.
pub(super) fn open(path: &Path, kind: StreamKind, abort: &AbortFlag) -> io::Result<File> {
    let file = match kind {
        StreamKind::Fifo => open_fifo(path, abort)?,
        StreamKind::CharDevice => open_for_writing(path)?,
        StreamKind::Socket => return connect(path, abort),
    };
    if StreamKind::of(file.metadata()?.file_type()) != Some(kind) {
        return Err(io::Error::other("it was replaced since it was checked"));
    }
    Ok(file)
}

/// Opens `path` for writing without creating it, making it a controlling terminal or blocking.
fn open_for_writing(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

/// Opens the FIFO `path` for writing once a reader has it open (`ENXIO` until then).
fn open_fifo(path: &Path, abort: &AbortFlag) -> io::Result<File> {
    loop {
        match open_for_writing(path) {
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => wait(abort)?,
            other => return other,
        }
    }
}

/// Connects a non-blocking Unix stream socket to the socket `path`.
fn connect(path: &Path, abort: &AbortFlag) -> io::Result<File> {
    let (address, length) = socket_address(path)?;
    // SAFETY: socket(2) with constant arguments; the result is checked before use.
    let raw = unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new descriptor nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(raw) };
    loop {
        // SAFETY: `address` is an initialised sockaddr_un of `length` bytes; `raw` is open.
        let result = unsafe { libc::connect(raw, (&raw const address).cast(), length) };
        if result == 0 {
            return Ok(File::from(socket));
        }
        let error = io::Error::last_os_error();
        match error.raw_os_error() {
            // The listener's backlog is full: try again.
            Some(libc::EAGAIN) => wait(abort)?,
            Some(libc::EINTR) => {}
            // Connecting in the background: done once the socket is writable.
            Some(libc::EINPROGRESS) => return finish_connect(socket, abort),
            _ => return Err(error),
        }
    }
}

/// Waits until a connection started in the background completes; its error, if any.
fn finish_connect(socket: OwnedFd, abort: &AbortFlag) -> io::Result<File> {
    use std::os::fd::AsRawFd;
    loop {
        if abort.is_aborted() {
            return Err(abort_error());
        }
        let mut pollfd = libc::pollfd {
            fd: socket.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd for a descriptor we own.
        if unsafe { libc::poll(&mut pollfd, 1, RETRY_PAUSE.as_millis() as i32) } > 0 {
            break;
        }
    }
    let mut error: libc::c_int = 0;
    let mut size = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: SO_ERROR writes one int into `error`, `size` says how big it is.
    let result = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&raw mut error).cast(),
            &mut size,
        )
    };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    if error != 0 {
        return Err(io::Error::from_raw_os_error(error));
    }
    Ok(File::from(socket))
}

/// The `sockaddr_un` of the socket file `path` and its length.
fn socket_address(path: &Path) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: sockaddr_un is plain data; all zeroes is a valid (empty) value.
    let mut address: libc::sockaddr_un = unsafe { mem::zeroed() };
    address.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_bytes();
    // One byte stays for the terminating NUL.
    if bytes.len() >= address.sun_path.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a socket path is at most {} bytes long",
                address.sun_path.len() - 1
            ),
        ));
    }
    for (slot, &byte) in address.sun_path.iter_mut().zip(bytes) {
        *slot = byte as libc::c_char;
    }
    let length = mem::size_of::<libc::sa_family_t>() + bytes.len() + 1;
    Ok((address, length as libc::socklen_t))
}

/// Pauses before trying again, or fails with the abort error once the flag is set.
fn wait(abort: &AbortFlag) -> io::Result<()> {
    if abort.is_aborted() {
        return Err(abort_error());
    }
    std::thread::sleep(RETRY_PAUSE);
    if abort.is_aborted() {
        return Err(abort_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;

    #[test]
    fn a_socket_is_connected_to_as_a_stream() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let listener = UnixListener::bind(&path).unwrap();
        let mut file = open(&path, StreamKind::Socket, &AbortFlag::new()).unwrap();
        let (mut accepted, _) = listener.accept().unwrap();
        file.write_all(b"hi").unwrap();
        drop(file);
        let mut got = String::new();
        accepted.read_to_string(&mut got).unwrap();
        assert_eq!(got, "hi");
    }

    #[test]
    fn a_socket_nobody_listens_on_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        drop(UnixListener::bind(&path).unwrap());
        let error = open(&path, StreamKind::Socket, &AbortFlag::new()).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::ECONNREFUSED), "{error}");
    }

    #[test]
    fn a_fifo_without_a_reader_is_waited_for_until_aborted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let abort = AbortFlag::new();
        abort.abort();
        let error = open(&path, StreamKind::Fifo, &abort).unwrap_err();
        assert!(super::super::abortable::is_abort(&error), "{error}");
    }

    #[test]
    fn a_path_that_changed_kind_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "").unwrap();
        let error = open(&path, StreamKind::CharDevice, &AbortFlag::new()).unwrap_err();
        assert!(error.to_string().contains("replaced"), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), b"");
    }

    #[test]
    fn socket_paths_too_long_are_an_error() {
        let long = Path::new("/tmp").join("x".repeat(200));
        assert_eq!(
            socket_address(&long).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
