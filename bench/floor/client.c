/*
 * The floor of a Lambda runtime: the same GET /next and POST /response as a
 * real runtime, and nothing else. What a runtime costs beyond this is the
 * runtime, not the Runtime API.
 *
 * One keep-alive connection to $AWS_LAMBDA_RUNTIME_API ("host:port", IPv4),
 * a fixed response body, exit on any protocol surprise (the bench reports it).
 * Built by the bench with gcc -O2 into .build/bench/.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX 65536

static const char RESPONSE_BODY[] = "{\"statusCode\":200,\"body\":\"hello\"}";

/* Bytes received past the current response head: the start of its body. */
static char buffer[HEAD_MAX + 1];
static size_t buffered;

static void die(const char *what) {
    fprintf(stderr, "floor client: %s\n", what);
    exit(1);
}

static void send_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t sent = send(fd, data, length, 0);
        if (sent <= 0) die("send failed");
        data += sent;
        length -= (size_t)sent;
    }
}

/* Find a header's value in a NUL-terminated head; copies at most size-1 bytes. */
static int header_value(const char *head, const char *name, char *out, size_t size) {
    size_t name_length = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, name_length) == 0 && line[name_length] == ':') {
            const char *value = line + name_length + 1;
            while (*value == ' ') value++;
            size_t length = strcspn(value, "\r\n");
            if (length >= size) length = size - 1;
            memcpy(out, value, length);
            out[length] = '\0';
            return 1;
        }
    }
    return 0;
}

/*
 * Read one response: its head into `head` (NUL-terminated) and its body,
 * discarded. Returns the status code.
 */
static int read_response(int fd, char *head, char *request_id, size_t id_size) {
    char *end;
    buffer[buffered] = '\0';
    while ((end = strstr(buffer, "\r\n\r\n")) == NULL) {
        if (buffered >= HEAD_MAX) die("response head too large");
        ssize_t got = recv(fd, buffer + buffered, HEAD_MAX - buffered, 0);
        if (got <= 0) die("connection closed");
        buffered += (size_t)got;
        buffer[buffered] = '\0';
    }
    size_t head_length = (size_t)(end - buffer) + 4;
    memcpy(head, buffer, head_length);
    head[head_length] = '\0';

    char length_text[32] = "0";
    header_value(head, "Content-Length", length_text, sizeof length_text);
    size_t body_left = strtoul(length_text, NULL, 10);
    if (request_id) {
        request_id[0] = '\0';
        header_value(head, "Lambda-Runtime-Aws-Request-Id", request_id, id_size);
    }

    /* Drop the head, then the body: first what is buffered, then the socket. */
    buffered -= head_length;
    memmove(buffer, buffer + head_length, buffered);
    size_t from_buffer = body_left < buffered ? body_left : buffered;
    buffered -= from_buffer;
    memmove(buffer, buffer + from_buffer, buffered);
    body_left -= from_buffer;
    while (body_left > 0) {
        char sink[16384];
        size_t want = body_left < sizeof sink ? body_left : sizeof sink;
        ssize_t got = recv(fd, sink, want, 0);
        if (got <= 0) die("connection closed in a body");
        body_left -= (size_t)got;
    }
    return atoi(head + 9); /* "HTTP/1.1 200 ..." */
}

int main(void) {
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api) die("AWS_LAMBDA_RUNTIME_API is not set");
    char host[64];
    const char *colon = strrchr(api, ':');
    if (!colon || (size_t)(colon - api) >= sizeof host) die("bad AWS_LAMBDA_RUNTIME_API");
    memcpy(host, api, (size_t)(colon - api));
    host[colon - api] = '\0';

    struct sockaddr_in address = {.sin_family = AF_INET};
    address.sin_port = htons((unsigned short)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) die("host is not IPv4");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0)
        die("cannot connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    static char head[HEAD_MAX + 1];
    char next[256], post[512], request_id[128];
    int next_length = snprintf(next, sizeof next,
                               "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n"
                               "Host: %s\r\n\r\n", api);
    for (;;) {
        send_all(fd, next, (size_t)next_length);
        if (read_response(fd, head, request_id, sizeof request_id) != 200)
            die("/next did not answer 200");
        if (!request_id[0]) die("/next had no request id");

        int post_length = snprintf(post, sizeof post,
                                   "POST /2018-06-01/runtime/invocation/%s/response "
                                   "HTTP/1.1\r\nHost: %s\r\n"
                                   "Content-Type: application/json\r\n"
                                   "Content-Length: %zu\r\n\r\n%s",
                                   request_id, api, sizeof RESPONSE_BODY - 1,
                                   RESPONSE_BODY);
        send_all(fd, post, (size_t)post_length);
        if (read_response(fd, head, NULL, 0) != 202) die("/response was not accepted");
    }
}
