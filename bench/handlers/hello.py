"""The hello workload's handler: does nothing, so only the runtime is measured."""

HELLO_RESPONSE = {"statusCode": 200, "body": "hello"}


def handler(event: object, context: object) -> dict[str, object]:
    """Return a fixed API Gateway style result without looking at the event."""
    return HELLO_RESPONSE
