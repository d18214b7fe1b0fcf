// epoll(7) for Swift: Glibc's module does not export it, and `struct epoll_event` is packed,
// which Swift cannot lay out. These wrappers take and return plain values.
#ifndef CRML_CEPOLL_H
#define CRML_CEPOLL_H

/// One ready descriptor.
typedef struct {
    int fd;
    int readable;   // input, end of stream, or an error waiting
    int writable;
} crml_epoll_ready;

/// A new epoll instance (close-on-exec), or -1 with errno.
int crml_epoll_create(void);

/// Watches `fd` for input (`read`) and/or output (`write`), level-triggered. `add` registers it,
/// otherwise its interest changes. 0, or -1 with errno.
int crml_epoll_watch(int epfd, int fd, int read, int write, int add);

/// Stops watching `fd`.
int crml_epoll_forget(int epfd, int fd);

/// Waits up to `timeout_ms` (negative: no limit) and fills up to `max` entries; returns how
/// many, or -1 with errno.
int crml_epoll_wait(int epfd, crml_epoll_ready *out, int max, int timeout_ms);

#endif
