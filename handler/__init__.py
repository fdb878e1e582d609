"""The sessions service: an HTTP API that keeps user sessions in DynamoDB.

The entry point is `handler.app.lambda_handler`. Nothing here knows about the
Lambda Runtime API; the runtime in `bootstrap/` calls the handler.
"""
