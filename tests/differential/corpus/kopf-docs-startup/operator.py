import asyncio
import kopf
import queue
import threading
from typing import Any

LOCK: asyncio.Lock

@kopf.on.startup()
async def startup_fn(logger: kopf.Logger, **_: Any) -> None:
    global LOCK
    LOCK = asyncio.Lock()  # uses the running asyncio loop by default

@kopf.on.cleanup()
async def cleanup_fn(logger: kopf.Logger, **_: Any) -> None:
    pass

@kopf.on.startup()
def start_background_worker(memo: kopf.Memo, **_: Any) -> None:
    memo.my_queue = queue.Queue()
    memo.my_thread = threading.Thread(target=background, args=(memo.my_queue,))
    memo.my_thread.start()

@kopf.on.cleanup()
def stop_background_worker(memo: kopf.Memo, **_: Any) -> None:
    memo['my_queue'].put(None)
    memo['my_thread'].join()

def background(queue: queue.Queue) -> None:
    while True:
        item = queue.get()
        if item is None:
            break
        else:
            print(item)

# ... continued from the previous example.
@kopf.on.event('KopfExample')
def pinged(memo: kopf.Memo, namespace: str | None, name: str, **_: Any) -> None:
    if not memo.get('is_seen'):
        memo.my_queue.put(f"{namespace}/{name}")
        memo.is_seen = True
