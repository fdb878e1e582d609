"""`make serve`: the sessions API on 127.0.0.1:3000, the way API Gateway runs it.

The function runs under the emulator (`python -m bootstrap`, or the frozen
`bootstrap` with --frozen) against an embedded DynamoDB Local that keeps its
data in .dynamodb/; the table is created on first use.
"""

import logging
import signal
import sys
from pathlib import Path
from types import FrameType

from emulator.api import Emulator
from emulator.environment import FAKE_CREDENTIALS
from emulator.front import FrontServer

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HANDLER = "handler.app.lambda_handler"
REGION = "us-east-1"


def run_front(emulator: Emulator, port: int) -> None:
    """Serve HTTP on 127.0.0.1:`port` in front of `emulator` until interrupted."""
    front = FrontServer(emulator.submit, port)
    try:
        # Inside the try: a SIGTERM right after the line is printed must still
        # end in a clean shutdown.
        print(f"serving on http://127.0.0.1:{front.port}", flush=True)
        front.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        logger.info("interrupted; shutting down")
    finally:
        front.server_close()


def serve(  # noqa: PLR0913 - one keyword per command-line option
    *,
    port: int = 3000,
    frozen: Path | None = None,
    data_dir: Path | None = None,
    timeout_s: float = 10.0,
    memory_mb: int = 256,
    concurrency: int = 1,
) -> None:
    """
    Run the sessions API with DynamoDB Local until SIGINT or SIGTERM.

    Args:
        data_dir: DynamoDB Local's data directory; .dynamodb/ in the checkout
            when None, so sessions survive a restart of `make serve`.

    Raises:
        EmulatorError: DynamoDB Local could not start.
    """
    # Imported here: only `serve` needs boto3 and the service's table schema.
    import boto3  # noqa: PLC0415

    from emulator.dynamodb_local import DynamoDBLocal  # noqa: PLC0415
    from handler.config import DEFAULT_TABLE_NAME  # noqa: PLC0415
    from handler.table import ensure_table  # noqa: PLC0415

    signal.signal(signal.SIGTERM, _interrupt)
    data_dir = data_dir or PROJECT_ROOT / ".dynamodb"
    with DynamoDBLocal(data_dir=data_dir) as dynamodb:
        # DynamoDB Local keeps one database per access key and region: the
        # table is created with the very credentials the function gets.
        client = boto3.client(
            "dynamodb",
            endpoint_url=dynamodb.endpoint_url,
            region_name=REGION,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
        )
        if ensure_table(client, DEFAULT_TABLE_NAME):
            logger.info("created table %s in %s", DEFAULT_TABLE_NAME, data_dir)

        command = (
            [str(frozen.resolve())] if frozen else [sys.executable, "-m", "bootstrap"]
        )
        env = {
            "_HANDLER": HANDLER,
            "LAMBDA_TASK_ROOT": str(PROJECT_ROOT),
            "PYTHONPATH": str(PROJECT_ROOT),
            "AWS_REGION": REGION,
            "SESSIONS_TABLE": DEFAULT_TABLE_NAME,
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb.endpoint_url,
            # Local development only: the caller names itself in x-user-id.
            "TRUST_USER_ID_HEADER": "true",
        }
        with Emulator(
            command,
            env=env,
            timeout_s=timeout_s,
            memory_mb=memory_mb,
            concurrency=concurrency,
            echo_logs=True,
        ) as emulator:
            run_front(emulator, port)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
