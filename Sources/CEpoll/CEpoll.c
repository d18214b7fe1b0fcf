#include "CEpoll.h"
#include <sys/epoll.h>
#include <stdlib.h>

int crml_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int crml_epoll_watch(int epfd, int fd, int read, int write, int add) {
    struct epoll_event ev;
    ev.events = (read ? (EPOLLIN | EPOLLRDHUP) : 0) | (write ? EPOLLOUT : 0);
    ev.data.u64 = 0;
    ev.data.fd = fd;
    return epoll_ctl(epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
}

int crml_epoll_forget(int epfd, int fd) {
    struct epoll_event ev = {0};
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev);
}

int crml_epoll_wait(int epfd, crml_epoll_ready *out, int max, int timeout_ms) {
    struct epoll_event events[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, events, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        unsigned e = events[i].events;
        out[i].fd = events[i].data.fd;
        out[i].readable = (e & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) != 0;
        out[i].writable = (e & EPOLLOUT) != 0;
    }
    return n;
}
