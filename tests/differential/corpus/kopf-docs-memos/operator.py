import kopf
from typing import Any

@kopf.on.event('KopfExample')
def pinged(memo: kopf.Memo, **_: Any) -> None:
    memo.counter = memo.get('counter', 0) + 1

@kopf.timer('KopfExample', interval=10)
def tick(memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    logger.info(f"{memo.counter} events have been received in 10 seconds.")
    memo.counter = 0
