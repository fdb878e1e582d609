"""Size limits an event must respect, taken from the services that send them.

Real events are already within these; the checks guard the parser against
events built by anything else (a test, a local emulator, a misconfiguration).
"""

# Lambda's synchronous invocation payload limit is 6 MB, so no event can carry
# a larger body; the decoded body is held to it.
MAX_BODY_BYTES = 6 * 1024 * 1024

# API Gateway (HTTP and REST APIs) quota: "total combined size of request line
# and header values", 10240 bytes. Counted here in characters over the path,
# the query string and every header name and value.
MAX_HEADER_CHARS_API_GATEWAY = 10240

# ALB's limit for all headers of a request is 64 KiB; Function URLs document
# none lower, so they get the same bound.
MAX_HEADER_CHARS_ALB = 64 * 1024

# RFC 9110 puts no bound on a method token; no real method is longer.
MAX_METHOD_CHARS = 32
