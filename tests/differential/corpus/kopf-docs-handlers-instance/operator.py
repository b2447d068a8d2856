import kopf
from typing import Any

class MyCls:
    def my_handler(self, spec: kopf.Spec, **_: Any) -> None:
        print(repr(self))

instance = MyCls()
kopf.on.create('kopfexamples')(instance.my_handler)
