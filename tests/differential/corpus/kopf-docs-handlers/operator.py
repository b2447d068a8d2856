import kopf
from typing import Any

@kopf.on.create('kopfexamples')
def my_handler(spec: kopf.Spec, **_: Any) -> None:
    pass

@kopf.on.update('kopfexamples')
def my_handler(spec: kopf.Spec, old: Any, new: Any, diff: kopf.Diff, **_: Any) -> None:
    pass

@kopf.on.delete('kopfexamples')
def my_handler(spec: kopf.Spec, **_: Any) -> None:
    pass

@kopf.on.field('kopfexamples', field='spec.somefield')
def somefield_changed(old: Any, new: Any, **_: Any) -> None:
    pass
