import kopf
from typing import Any

@kopf.on.create('kopfexamples',
                labels={'some-label': 'somevalue'},
                annotations={'some-annotation': 'somevalue'})
def my_handler(spec: kopf.Spec, **_: Any) -> None:
    pass
