import kopf
from typing import Any

@kopf.on.create('KopfExample')
def create_fn(**_: Any) -> None:
    objs = [{'kind': 'Job'}, {'kind': 'Deployment'}]
    kopf.adopt(objs, strict=True, forced=True, nested='spec.template')
    print(objs)
