import kopf
import random
from typing import Any

@kopf.on.create('kopfexamples')
def create_kex_1(**_: Any) -> int:
    return 100

@kopf.on.create('kopfexamples')
def create_kex_2(uid: str, **_: Any) -> dict[str, int]:
    return {'r1': random.randint(0, 100), 'r2': random.randint(100, 999)}
