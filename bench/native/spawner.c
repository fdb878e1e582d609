/*
 * Starts the benchmarked processes from a process that is nearly empty.
 *
 * Why: Linux folds the peak RSS of the address space a process had BEFORE
 * exec into the ru_maxrss that wait4 reports. A child forked (or vforked) by
 * the Python harness would inherit the harness's tens of megabytes as its
 * "peak". Forked from this ~1 MiB process, ru_maxrss is the function's own.
 *
 * Protocol, one child at a time, on stdin/stdout:
 *   request:  uint32 length (native order), then NUL-terminated fields:
 *             log path, argc, argv[0..argc-1] (argv[0] is an absolute path),
 *             then "NAME=value" environment entries up to the end
 *   replies:  "spawned <pid> <exec_ns>\n" where exec_ns is CLOCK_MONOTONIC
 *             just before fork (the harness's time.perf_counter_ns clock), then
 *             "exited <pid> <wait_status> <maxrss_kib> <exit_ns>\n" once it ends.
 * The harness kills the child itself (same user). If the harness dies, this
 * process and its child die too (PR_SET_PDEATHSIG).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FIELDS 4096

static long long monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static int read_exactly(int fd, void *into, size_t length) {
    char *cursor = into;
    while (length > 0) {
        ssize_t got = read(fd, cursor, length);
        if (got <= 0) return -1;
        cursor += got;
        length -= (size_t)got;
    }
    return 0;
}

static void run_child(char *log_path, char **argv, char **envp) {
    /* Die with the spawner: no orphan function process outlives a bench. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null_fd = open("/dev/null", O_RDONLY);
    if (log_fd < 0 || null_fd < 0) _exit(126);
    dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    close(null_fd);
    close(log_fd);
    execve(argv[0], argv, envp);
    dprintf(2, "spawner: cannot exec %s\n", argv[0]);
    _exit(127);
}

int main(void) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    static char *fields[MAX_FIELDS + 1];
    for (;;) {
        uint32_t length;
        if (read_exactly(0, &length, sizeof length) != 0) return 0;
        char *request = malloc((size_t)length + 1);
        if (!request || read_exactly(0, request, length) != 0) return 1;
        request[length] = '\0';

        size_t count = 0;
        size_t at = 0;
        while (at < length && count < MAX_FIELDS) {
            fields[count++] = request + at;
            at += strlen(request + at) + 1;
        }
        fields[count] = NULL;
        if (count < 3) return 2;
        size_t argc = strtoul(fields[1], NULL, 10);
        if (argc == 0 || 2 + argc > count) return 2;

        /* argv and the environment share `fields`: copy the environment out
         * before the NULL that ends argv overwrites its first entry. */
        static char *envp[MAX_FIELDS + 1];
        size_t env_count = 0;
        for (size_t i = 2 + argc; i < count; i++) envp[env_count++] = fields[i];
        envp[env_count] = NULL;
        char **argv = fields + 2;
        argv[argc] = NULL;

        long long exec_ns = monotonic_ns();
        pid_t pid = fork();
        if (pid < 0) return 3;
        if (pid == 0) run_child(fields[0], argv, envp);
        printf("spawned %d %lld\n", (int)pid, exec_ns);

        int status;
        struct rusage usage;
        if (wait4(pid, &status, 0, &usage) < 0) return 4;
        printf("exited %d %d %ld %lld\n", (int)pid, status, usage.ru_maxrss,
               monotonic_ns());
        free(request);
    }
}
