//! [`AbortableWriter`]: the writer between the serializer's buffer and the file descriptor, which
//! gives up as soon as the abort flag is set, even when the reader at the other end of a pipe or
//! socket has stopped reading.

use crate::abort::AbortFlag;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd};

/// How long one wait for room in a pipe, socket or terminal lasts before the abort flag is looked
/// at again: the longest an interrupted write takes to notice.
const WAIT_SLICE_MS: i32 = 50;

/// The error a write fails with once the abort flag is set. Not `ErrorKind::Interrupted`, which
/// `write_all` and `BufWriter` retry forever.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by a signal")]
pub(super) struct WriteAborted;

/// Whether `error` is the [`WriteAborted`] of an [`AbortableWriter`].
pub(super) fn is_abort(error: &io::Error) -> bool {
    error.get_ref().is_some_and(|inner| inner.is::<WriteAborted>())
}

/// The io error of an abort.
pub(super) fn abort_error() -> io::Error {
    io::Error::other(WriteAborted)
}

/// Writes into `inner` until the abort flag is set, then fails every write with [`WriteAborted`].
///
/// For a destination that may be slow to take data (a pipe, a socket, a terminal: `wait` true),
/// each write first waits for room with `poll`, a slice at a time, looking at the flag between
/// slices; a non-blocking descriptor's `EAGAIN` means the same. A regular file takes data at once,
/// so it is written without polling and the flag is looked at once per write (a buffer's worth).
pub(super) struct AbortableWriter<'a, W> {
    inner: W,
    abort: &'a AbortFlag,
    wait: bool,
}

impl<'a, W: Write + AsFd> AbortableWriter<'a, W> {
    /// Writes into `inner`; `wait` for destinations that can be full (anything but a regular
    /// file).
    pub(super) fn new(inner: W, abort: &'a AbortFlag, wait: bool) -> Self {
        Self { inner, abort, wait }
    }

    /// Waits up to one slice for room in the destination. An error or hang-up counts as room:
    /// the write that follows reports it.
    fn has_room(&self) -> bool {
        let mut pollfd = libc::pollfd {
            fd: self.inner.as_fd().as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd, owned by this frame, for a descriptor `inner` keeps open.
        let ready = unsafe { libc::poll(&mut pollfd, 1, WAIT_SLICE_MS) };
        ready > 0
    }
}

impl<W: Write + AsFd> Write for AbortableWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            if self.abort.is_aborted() {
                return Err(abort_error());
            }
            if self.wait && !self.has_room() {
                continue;
            }
            match self.inner.write(buf) {
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
                result => return result,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.abort.is_aborted() {
            return Err(abort_error());
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixStream;
    use std::time::{Duration, Instant};

    #[test]
    fn writes_through_until_aborted_then_fails_without_retrying_forever() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let abort = AbortFlag::new();
        let mut writer = io::BufWriter::new(AbortableWriter::new(&ours, &abort, true));
        writer.write_all(b"hello").unwrap();
        writer.flush().unwrap();
        let mut got = [0u8; 5];
        theirs.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello");

        abort.abort();
        let error = writer.write_all(&[0u8; 1 << 20]).unwrap_err();
        assert!(is_abort(&error), "{error}");
    }

    #[test]
    fn a_full_socket_nobody_reads_gives_up_once_the_flag_is_set() {
        let (ours, _theirs) = UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let abort = AbortFlag::new();
        let setter = abort.clone();
        let started = Instant::now();
        let waker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            setter.abort();
        });
        let mut writer = AbortableWriter::new(&ours, &abort, true);
        // Far more than a socket buffer: blocks (polls) until the flag is set.
        let error = writer.write_all(&vec![0u8; 64 << 20]).unwrap_err();
        waker.join().unwrap();
        assert!(is_abort(&error), "{error}");
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn other_errors_are_not_aborts() {
        assert!(!is_abort(&io::Error::other("disk on fire")));
        assert!(!is_abort(&io::Error::from(io::ErrorKind::Interrupted)));
        assert!(is_abort(&abort_error()));
    }
}
