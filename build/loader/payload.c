/*
 * Load the extension modules and shared libraries appended to the executable.
 *
 * The single-file `bootstrap` is Nuitka's standalone binary with every shared
 * object of the standalone folder appended after its ELF image. Nuitka's
 * importer calls dlopen("<folder>/_ssl.so"); the link wraps dlopen (ld
 * --wrap=dlopen) so that call lands here. When the path names a file of the
 * payload, its bytes are copied from /proc/self/exe into an anonymous memory
 * file (memfd_create) and the real dlopen opens /proc/self/fd/N. Nothing is
 * written to disk, and there is no second process: unlike Nuitka's onefile the
 * cold start pays only for the objects the program really loads.
 *
 * The libraries an extension module links (libssl.so.3 for _ssl...) are loaded
 * the same way first, leaves first: the dynamic loader then matches the
 * module's DT_NEEDED entries by SONAME against the objects already loaded and
 * never looks for them on disk.
 *
 * Without a payload (the standalone folder layout) every call goes straight
 * to the real dlopen, so one link serves both layouts.
 *
 * Payload layout, all integers little endian:
 *
 *   [ELF image][object bytes...][index][trailer]
 *   index:   one line per object: "<path>\t<offset>\t<size>\t<deps>\n",
 *            path relative to the executable's folder, offset from the start
 *            of the file, deps a comma-separated list of line numbers (objects
 *            of the payload) and of "=<path>" (libraries left as files next to
 *            the executable, opened from there first)
 *   trailer: u64 index offset, u64 index size, 8 bytes "LMBDPAY1"
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <unistd.h>

#define PAYLOAD_MAGIC "LMBDPAY1"
#define TRAILER_SIZE 24
#define MAX_DEPS 16

struct payload_entry {
    char *path;
    uint64_t offset;
    uint64_t size;
    int deps[MAX_DEPS];
    int dep_count;
    char *disk_deps[MAX_DEPS];
    int disk_dep_count;
    void *handle;
    int loading;
};

void *__real_dlopen(const char *filename, int flags);

static int payload_state; /* 0: not read yet, 1: present, -1: absent */
static int exe_fd = -1;
static char exe_dir[PATH_MAX];
static size_t exe_dir_len;
static struct payload_entry *entries;
static int entry_count;
/* Imports may run on several threads; the loader may call back in. */
static pthread_mutex_t payload_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

static uint64_t read_u64(const unsigned char *bytes) {
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--) {
        value = (value << 8) | bytes[i];
    }
    return value;
}

/* Parse one index line in place; returns 0 on success. */
static int parse_entry(char *line, struct payload_entry *entry) {
    char *fields[4];
    char *cursor = line;
    for (int i = 0; i < 4; i++) {
        fields[i] = cursor;
        cursor = strchr(cursor, i < 3 ? '\t' : '\n');
        if (cursor == NULL) {
            return -1;
        }
        *cursor++ = '\0';
    }
    entry->path = fields[0];
    entry->offset = strtoull(fields[1], NULL, 10);
    entry->size = strtoull(fields[2], NULL, 10);
    entry->dep_count = 0;
    entry->disk_dep_count = 0;
    char *state = NULL;
    for (char *dep = strtok_r(fields[3], ",", &state); dep != NULL;
         dep = strtok_r(NULL, ",", &state)) {
        if (*dep == '=' && entry->disk_dep_count < MAX_DEPS) {
            entry->disk_deps[entry->disk_dep_count++] = dep + 1;
        } else if (*dep != '=' && entry->dep_count < MAX_DEPS) {
            entry->deps[entry->dep_count++] = (int)strtol(dep, NULL, 10);
        }
    }
    entry->handle = NULL;
    entry->loading = 0;
    return 0;
}

/* Read the trailer and index once; any failure means "no payload". */
static void read_payload(void) {
    payload_state = -1;

    ssize_t length = readlink("/proc/self/exe", exe_dir, sizeof(exe_dir) - 1);
    if (length <= 0) {
        return;
    }
    exe_dir[length] = '\0';
    char *slash = strrchr(exe_dir, '/');
    if (slash == NULL) {
        return;
    }
    *slash = '\0';
    exe_dir_len = strlen(exe_dir);

    exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (exe_fd < 0) {
        return;
    }
    off_t end = lseek(exe_fd, 0, SEEK_END);
    unsigned char trailer[TRAILER_SIZE];
    if (end < TRAILER_SIZE ||
        pread(exe_fd, trailer, TRAILER_SIZE, end - TRAILER_SIZE) != TRAILER_SIZE ||
        memcmp(trailer + 16, PAYLOAD_MAGIC, 8) != 0) {
        close(exe_fd);
        exe_fd = -1;
        return;
    }

    uint64_t index_offset = read_u64(trailer);
    uint64_t index_size = read_u64(trailer + 8);
    char *index = malloc(index_size + 1);
    if (index == NULL ||
        pread(exe_fd, index, index_size, (off_t)index_offset) != (ssize_t)index_size) {
        free(index);
        return;
    }
    index[index_size] = '\0';

    int lines = 0;
    for (uint64_t i = 0; i < index_size; i++) {
        lines += index[i] == '\n';
    }
    entries = calloc((size_t)lines, sizeof(*entries));
    if (entries == NULL) {
        return;
    }
    char *cursor = index;
    for (int i = 0; i < lines; i++) {
        char *next = strchr(cursor, '\n') + 1;
        if (parse_entry(cursor, &entries[i]) != 0) {
            return;
        }
        cursor = next;
    }
    entry_count = lines;
    payload_state = 1;
}

static int find_entry(const char *filename) {
    if (strncmp(filename, exe_dir, exe_dir_len) != 0 || filename[exe_dir_len] != '/') {
        return -1;
    }
    const char *relative = filename + exe_dir_len + 1;
    for (int i = 0; i < entry_count; i++) {
        if (strcmp(entries[i].path, relative) == 0) {
            return i;
        }
    }
    return -1;
}

/* Copy one object into a memory file and dlopen it, its libraries first. */
static void *load_entry(int number, int flags) {
    struct payload_entry *entry = &entries[number];
    if (entry->handle != NULL) {
        return entry->handle;
    }
    if (entry->loading) {
        return NULL; /* a dependency cycle; the index never holds one */
    }
    entry->loading = 1;

    /* Loaded from a memory file, the object's $ORIGIN is /proc/self/fd: its
     * libraries beside the executable would not be found by the loader. */
    for (int i = 0; i < entry->disk_dep_count; i++) {
        char disk_path[2 * PATH_MAX];
        int length = snprintf(disk_path, sizeof(disk_path), "%s/%s", exe_dir,
                              entry->disk_deps[i]);
        if (length < 0 || (size_t)length >= sizeof(disk_path) ||
            __real_dlopen(disk_path, RTLD_NOW) == NULL) {
            entry->loading = 0;
            return NULL;
        }
    }
    for (int i = 0; i < entry->dep_count; i++) {
        int dep = entry->deps[i];
        if (dep < 0 || dep >= entry_count || load_entry(dep, RTLD_NOW) == NULL) {
            entry->loading = 0;
            return NULL;
        }
    }

    const char *name = strrchr(entry->path, '/');
    int memory_fd = memfd_create(name != NULL ? name + 1 : entry->path, MFD_CLOEXEC);
    if (memory_fd < 0) {
        entry->loading = 0;
        return NULL;
    }
    off_t offset = (off_t)entry->offset;
    uint64_t left = entry->size;
    while (left > 0) {
        ssize_t sent = sendfile(memory_fd, exe_fd, &offset, left);
        if (sent <= 0) {
            close(memory_fd);
            entry->loading = 0;
            return NULL;
        }
        left -= (uint64_t)sent;
    }

    /* The memory file stays open: the loader records this path as the
     * object's name, and a reused descriptor number would alias it. */
    char fd_path[64];
    snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", memory_fd);
    entry->handle = __real_dlopen(fd_path, flags);
    entry->loading = 0;
    return entry->handle;
}

static void *open_from_payload(const char *filename, int flags) {
    if (payload_state == 0) {
        read_payload();
    }
    if (payload_state < 0 || filename == NULL) {
        return NULL;
    }
    int number = find_entry(filename);
    if (number < 0) {
        return NULL;
    }
    return load_entry(number, flags);
}

void *__wrap_dlopen(const char *filename, int flags) {
    pthread_mutex_lock(&payload_lock);
    void *handle = open_from_payload(filename, flags);
    pthread_mutex_unlock(&payload_lock);

    /* Not in the payload, or it failed: the real loader opens the path and
     * reports a readable error if it cannot. */
    return handle != NULL ? handle : __real_dlopen(filename, flags);
}
