"""Runs, in the frozen process, the botocore paths whose imports the build made lazy.

build/anti-bloat.yml swaps jmespath and xml.etree.ElementTree for stand-ins that
import on first use, drops the docstring builders of botocore.docs and skips
the **kwargs check of event handlers. This handler reports what was loaded after
the client was created, then drives each path that reaches a stand-in, so a
broken stand-in fails the test instead of a rarely used call in production.
"""

import sys
from typing import Any

from botocore import compat

from handler.client import create_dynamodb_client
from handler.config import Settings
from handler.table import USER_INDEX_NAME

# Modules whose import the stand-ins keep off the cold path.
DEFERRED = ("botocore.docs.service", "jmespath", "xml.etree.ElementTree")


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Create the service's client, then use paginators, waiters and XML."""
    settings = Settings.from_env()
    client = create_dynamodb_client(settings)
    loaded_at_init = [name for name in DEFERRED if name in sys.modules]

    # Paginator result keys and waiter matchers are jmespath expressions.
    pages = client.get_paginator("query").paginate(
        TableName=settings.table_name,
        IndexName=USER_INDEX_NAME,
        KeyConditionExpression="user_id = :user",
        ExpressionAttributeValues={":user": {"S": "nobody"}},
    )
    paginated_items = sum(len(page["Items"]) for page in pages)
    client.get_waiter("table_exists").wait(
        TableName=settings.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 2}
    )

    # Endpoint rules read a batch call's table ARNs through jmespath.
    batch = client.batch_get_item(
        RequestItems={
            settings.table_name: {"Keys": [{"session_id": {"S": "no-such-session"}}]}
        }
    )

    # The parser botocore catches XML errors from (pyexpat is not compiled in,
    # so the frozen binary parses no XML): its errors must still be caught.
    # (ETree is compat's own name for the module, absent from the type stubs.)
    element_tree = compat.ETree  # type: ignore[attr-defined]
    xml_errors_caught = issubclass(element_tree.ParseError, compat.XMLParseError)

    return {
        "loaded_at_init": loaded_at_init,
        "paginated_items": paginated_items,
        "batch_tables": sorted(batch["Responses"]),
        "xml_errors_caught": xml_errors_caught,
        "client_method_doc": client.put_item.__doc__,
    }
